"""mm/failslab.c: fault injection for slab allocations.

Install ``failslab()`` as ``kernel.failslab`` and ``kmem_cache_alloc``
consults ``should_fail`` in slab_pre_alloc_hook(), after might_alloc(), as
the kernel does.  The knobs are those of /sys/kernel/debug/failslab/:
``attr`` (lib/fault-inject.c's probability, interval, times, space, verbose,
task-filter), ``ignore_gfp_reclaim`` (the file ``ignore-gfp-wait``, default
Y: only allocations that cannot enter direct reclaim fail, since small
sleeping allocations practically never fail on a real kernel) and
``cache_filter`` (only caches marked with SLAB_FAILSLAB, the
/sys/kernel/slab/<cache>/failslab file, fail).

Per-task fail-nth lives in ``task_struct.fail_nth`` and is decided in
``should_fail_ex``: like the kernel, it counts only the allocations that get
past the filters above (with ignore-gfp-wait Y, a GFP_KERNEL allocation is
not counted).  The model's folio allocations have no fail_page_alloc, so
fail-nth counts slab allocations only.
"""

from __future__ import annotations

from ..include.gfp import __GFP_DIRECT_RECLAIM, __GFP_NOFAIL, __GFP_NOWARN
from ..lib.fault_inject import FAULT_NOWARN, fault_attr, should_fail_ex
from .slub import SLAB_FAILSLAB


def should_failslab(failslab, kernel, s, gfpflags: int) -> bool:
    """A module-level function, not written in the class: Python would
    mangle the __GFP_ names inside a class body."""
    if gfpflags & __GFP_NOFAIL:
        return False
    if failslab.ignore_gfp_reclaim and gfpflags & __GFP_DIRECT_RECLAIM:
        return False
    if failslab.cache_filter and not s.flags & SLAB_FAILSLAB:
        return False
    # Callers that pass __GFP_NOWARN (GFP_NOWAIT does) expect silence,
    # not just no warning: commit 6b9dbedbe349.
    flags = FAULT_NOWARN if gfpflags & __GFP_NOWARN else 0
    return should_fail_ex(kernel, failslab.attr, s.object_size, flags)


class failslab:
    """The kernel's static ``failslab`` struct: the knobs, and the decision
    ``kmem_cache_alloc`` asks for."""

    __slots__ = ("attr", "ignore_gfp_reclaim", "cache_filter")

    def __init__(self, seed: int = 0):
        self.attr = fault_attr("failslab", seed)
        self.ignore_gfp_reclaim = True
        self.cache_filter = False

    should_fail = should_failslab
