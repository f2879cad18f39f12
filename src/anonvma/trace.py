"""The tracepoint bus.

Everything observable leaves the model through here, under the kernel's own
tracepoint names (``kmem_cache_alloc``, ``lock_acquire``, ...).  Kernel code
only *fires* tracepoints; sinks, checkers, statistics and the live-kernel
comparison *subscribe*.  A tracepoint without probes costs one attribute load
and one truth test, like a static key that is off, so a run nobody watches
pays almost nothing.

    tracer = Tracer()
    tracer.kmem_cache_alloc.register(my_probe)
    ...
    tracer.kmem_cache_alloc(call_site, obj, cache, gfp)   # from kernel code

Probes get the tracepoint's arguments positionally; each tracepoint documents
them in ``TRACEPOINTS``.
"""

from __future__ import annotations

import sys
from typing import Callable

# name -> argument list.  The kernel's TP_PROTO, in short.
TRACEPOINTS: dict[str, str] = {
    # include/trace/events/kmem.h
    "kmem_cache_alloc": "call_site, ptr, cache, gfp_flags  (ptr is None on failure)",
    "kmem_cache_free": "call_site, ptr, cache",
    "mm_page_alloc": "folio, order, gfp_flags  (folio is None on failure)",
    "mm_page_free": "folio, order",
    # include/trace/events/lock.h (CONFIG_LOCKDEP / LOCK_STAT)
    "lock_acquire": "lock, subclass, trylock, read, ip",
    "lock_contended": "lock, ip",
    "lock_acquired": "lock, ip",
    "lock_release": "lock, ip",
    # include/trace/events/sched.h
    "sched_process_fork": "parent, child",
    "sched_process_exit": "task",
    "sched_switch": "prev, next",
    # include/trace/events/exceptions.h, syscalls
    "page_fault_user": "task, address, write",
    "sys_enter": "task, name, args",
    "sys_exit": "task, name, ret",
    # include/trace/events/mmap.h
    "exit_mmap": "mm",
    # include/trace/events/vmscan.h
    "mm_vmscan_direct_reclaim_begin": "order, gfp_flags",
    "mm_vmscan_direct_reclaim_end": "nr_reclaimed",
    "mm_vmscan_wakeup_kswapd": "order, gfp_flags",
    # reports of the debugging facilities (lockdep, KASAN, VM_BUG_ON, hung tasks)
    "report": "kind, text",
    # user space: what the scenario's processes print or die of
    "user_maps": "task, lines",
    "user_error": "task, op, err",
    "user_step": "lineno  (a scenario line has completed)",
}


class Tracepoint:
    """One tracepoint; calling it runs every registered probe in order."""

    __slots__ = ("name", "probes")

    def __init__(self, name: str):
        self.name = name
        self.probes: tuple[Callable, ...] = ()

    def __call__(self, *args) -> None:
        for probe in self.probes:
            probe(*args)

    def __bool__(self) -> bool:
        return bool(self.probes)

    def register(self, probe: Callable) -> None:
        self.probes = self.probes + (probe,)

    def unregister(self, probe: Callable) -> None:
        self.probes = tuple(p for p in self.probes if p is not probe)


class Tracer:
    """All tracepoints of one simulated kernel, as attributes."""

    def __init__(self):
        for name in TRACEPOINTS:
            setattr(self, name, Tracepoint(name))

    def tracepoint(self, name: str) -> Tracepoint:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(f"no tracepoint named {name!r}") from None


def kernel_stack(skip: int = 1, limit: int = 32) -> list[str]:
    """The names of the Python functions on the current stack, innermost first.

    The model keeps kernel function names, so this is what the kernel's
    ``stacktrace`` trigger shows: sinks use it to tell callers apart exactly
    as the live-kernel oracle does with its stack traces.  Only sinks that
    need it pay for it.
    """
    frame = sys._getframe(skip)
    names = []
    while frame is not None and len(names) < limit:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names
