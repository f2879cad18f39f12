"""The page allocator (mm/page_alloc.c): one zone, its watermarks, and the
slow path that wakes kswapd, reclaims directly and finally OOM-kills.

Every page comes from here: user folios and the slab pages that hold
anon_vmas, anon_vma_chains and VMAs.  The zone's size is ``set memory N``
(pages); by default it is the traced machine's 24 GiB, where no scenario
comes near a watermark.

``might_alloc()`` (include/linux/sched/mm.h) is the hook every allocation
passes first: lockdep's ``fs_reclaim`` annotation and ``might_sleep``.
"""

from __future__ import annotations

from ..include.gfp import (
    __GFP_DIRECT_RECLAIM, __GFP_FS, __GFP_HIGH, __GFP_IO, __GFP_KSWAPD_RECLAIM, __GFP_NOFAIL,
    __GFP_NOLOCKDEP, __GFP_NOWARN, gfp_name, gfpflags_allow_blocking,
)
from ..kernel.locking.lockdep import lockdep_map
from ..kernel.sched.core import PF_MEMALLOC, PF_MEMALLOC_NOFS, PF_MEMALLOC_NOIO
from .mm_types import folio

DEFAULT_PAGES = 24 << 18            # 24 GiB of 4 KiB pages
MAX_RECLAIM_RETRIES = 16            # mm/page_alloc.c

# Every allocation asks: the kernel's static inline, here one bit test.
_GFP_DIRECT_RECLAIM = __GFP_DIRECT_RECLAIM

# mm/internal.h ALLOC_* flags: what the allocator may do, from the GFP flags.
# (Kept outside the classes: Python would mangle ``__GFP_*`` inside them.)
ALLOC_MIN_RESERVE = 0x08
ALLOC_KSWAPD = 0x800
ALLOC_NOFAIL = 0x10000          # the model's: __GFP_NOFAIL, looked up once
ALLOC_NOWARN = 0x20000          # the model's: __GFP_NOWARN, likewise


# static struct lockdep_map __fs_reclaim_map: reclaim, as lockdep sees it.
fs_reclaim_map = lockdep_map("fs_reclaim")


def current_gfp_context(task, flags: int) -> int:
    """include/linux/sched/mm.h: memalloc_noio/nofs scopes strip the bits."""
    pflags = task.flags
    if pflags & PF_MEMALLOC_NOIO:
        flags &= ~(__GFP_IO | __GFP_FS)
    elif pflags & PF_MEMALLOC_NOFS:
        flags &= ~__GFP_FS
    return flags


def _need_reclaim(curr, gfp_mask: int) -> bool:
    """``__need_reclaim()``."""
    if not gfp_mask & __GFP_DIRECT_RECLAIM:
        return False        # no reclaim without waiting on it
    if curr.flags & PF_MEMALLOC:
        return False        # this guy won't enter reclaim
    return not gfp_mask & __GFP_NOLOCKDEP


def _fs_reclaim_needed(curr, gfp_mask: int) -> bool:
    """What fs_reclaim_acquire() asks before taking the map."""
    gfp_mask = current_gfp_context(curr, gfp_mask)
    return _need_reclaim(curr, gfp_mask) and bool(gfp_mask & __GFP_FS)


def gfp_to_alloc_flags(gfp_mask: int) -> int:
    alloc_flags = 0
    if gfp_mask & __GFP_HIGH:
        alloc_flags |= ALLOC_MIN_RESERVE
    if gfp_mask & __GFP_KSWAPD_RECLAIM:
        alloc_flags |= ALLOC_KSWAPD
    if gfp_mask & __GFP_NOFAIL:
        alloc_flags |= ALLOC_NOFAIL
    if gfp_mask & __GFP_NOWARN:
        alloc_flags |= ALLOC_NOWARN
    return alloc_flags


class zone:
    """struct zone, as far as watermarks go.  ``min`` is what only
    __GFP_HIGH or reclaim-in-progress may dip below; kswapd wakes below
    ``low`` and sleeps again above ``high`` (mm/page_alloc.c:
    __setup_per_zone_wmarks: low = min + min/4, high = min + min/2)."""

    __slots__ = ("managed_pages", "nr_free", "wmark_min", "wmark_low", "wmark_high")

    def __init__(self, managed_pages: int):
        self.managed_pages = managed_pages
        self.nr_free = managed_pages
        self.wmark_min = max(2, managed_pages // 32)
        self.wmark_low = self.wmark_min + self.wmark_min // 4
        self.wmark_high = self.wmark_min + self.wmark_min // 2


class PageAlloc:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def page_alloc_init(self, memory: int) -> None:
        self.zone = zone(memory)
        # Whether this kernel annotates reclaim with this file's
        # fs_reclaim_acquire/release, which fire nothing but lock_acquire and
        # lock_release; an era with annotations of its own (2011's lockdep)
        # has False, and its might_alloc() always calls them.  An attribute
        # of the kernel, not of its class: every allocation reads it, and
        # CPython specialises that read for an instance attribute only.
        cls = type(self)
        self.fs_reclaim_lockdep_map = (cls.fs_reclaim_acquire is PageAlloc.fs_reclaim_acquire
                                       and cls.fs_reclaim_release is PageAlloc.fs_reclaim_release)

    def might_alloc(self, gfp_mask: int) -> None:
        # Every allocation passes here.  With nobody on lock_acquire and
        # lock_release, fs_reclaim_acquire/release would only test that and
        # return: skip the two calls, as the kernel's disabled static keys do.
        trace = self.trace
        if (trace.lock_acquire.probes or trace.lock_release.probes
                or not self.fs_reclaim_lockdep_map):
            self.fs_reclaim_acquire(gfp_mask)
            self.fs_reclaim_release(gfp_mask)
        if gfp_mask & _GFP_DIRECT_RECLAIM:      # gfpflags_allow_blocking(), inlined
            self.might_sleep()

    # CONFIG_LOCKDEP's reclaim annotation: lock_map_acquire(&__fs_reclaim_map)
    # is the lock_acquire tracepoint.  Nobody listening costs one test.
    def fs_reclaim_acquire(self, gfp_mask: int) -> None:
        probes = self.trace.lock_acquire.probes
        if probes and _fs_reclaim_needed(self.current, gfp_mask):
            for probe in probes:
                probe(fs_reclaim_map, 0, 0, 0, _FS_RECLAIM_ACQUIRE_IP)

    def fs_reclaim_release(self, gfp_mask: int) -> None:
        probes = self.trace.lock_release.probes
        if probes and _fs_reclaim_needed(self.current, gfp_mask):
            for probe in probes:
                probe(fs_reclaim_map, None)

    def _fs_reclaim_acquire(self) -> None:
        """``__fs_reclaim_acquire()``: what kswapd's balance_pgdat() holds,
        whatever its own flags (kswapd runs with PF_MEMALLOC)."""
        for probe in self.trace.lock_acquire.probes:
            probe(fs_reclaim_map, 0, 0, 0, _FS_RECLAIM_ACQUIRE_IP_KSWAPD)

    def _fs_reclaim_release(self) -> None:
        for probe in self.trace.lock_release.probes:
            probe(fs_reclaim_map, None)

    # -- the zone -------------------------------------------------------------------

    def zone_watermark_ok(self, mark: int, alloc_flags: int) -> bool:
        if alloc_flags & ALLOC_MIN_RESERVE:
            mark -= mark // 2
        return self.zone.nr_free - 1 >= mark

    def rmqueue(self) -> None:
        self.zone.nr_free -= 1

    def free_one_page(self) -> None:
        self.zone.nr_free += 1

    def alloc_pages(self, gfp_mask: int) -> bool:
        """One page out of the zone, or False.  The fast path takes it above
        the low watermark; below it, the slow path."""
        self.might_alloc(gfp_mask)
        alloc_flags = gfp_to_alloc_flags(gfp_mask)
        if self.zone_watermark_ok(self.zone.wmark_low, alloc_flags):
            self.rmqueue()
            return True
        if self._alloc_pages_slowpath(gfp_mask, alloc_flags):
            return True
        if not alloc_flags & ALLOC_NOWARN:
            self.warn_alloc(gfp_mask)
        return False

    def warn_alloc(self, gfp_mask: int) -> None:
        """The kernel's "page allocation failure" message, which
        __GFP_NOWARN (and so GFP_NOWAIT, since 6.x) silences."""
        self.trace.report("printk", f"{self.current.comm}: page allocation failure: order:0, "
                                    f"mode:{gfp_mask:#x}({gfp_name(gfp_mask)})")

    def _alloc_pages_slowpath(self, gfp_mask: int, alloc_flags: int) -> bool:
        z = self.zone
        current = self.current
        if alloc_flags & ALLOC_KSWAPD:
            self.wakeup_kswapd(gfp_mask)
        # Reclaimers (PF_MEMALLOC) and OOM victims may use the reserves.
        if current.flags & PF_MEMALLOC or current.oom_victim:
            if z.nr_free > 0:
                self.rmqueue()
                return True
            return False
        if self.zone_watermark_ok(z.wmark_min, alloc_flags):
            self.rmqueue()
            return True
        if not gfpflags_allow_blocking(gfp_mask):
            return False                # GFP_NOWAIT: never sleeps, never reclaims
        for _ in range(MAX_RECLAIM_RETRIES):
            progress = self._perform_reclaim(gfp_mask)
            if self.zone_watermark_ok(z.wmark_min, alloc_flags):
                self.rmqueue()
                return True
            if not progress:
                break
        # Nothing more to reclaim: the OOM killer chooses the allocating
        # task (every scenario process is alike), which may then use the
        # reserves to get out of the way.
        if not current.oom_victim and self.out_of_memory(gfp_mask):
            return self._alloc_pages_slowpath(gfp_mask, alloc_flags)
        if alloc_flags & ALLOC_NOFAIL and z.nr_free > 0:
            self.rmqueue()
            return True
        return False

    def _perform_reclaim(self, gfp_mask: int) -> int:
        """Direct reclaim, holding fs_reclaim as the kernel does, with
        PF_MEMALLOC so that allocations inside reclaim do not recurse."""
        current = self.current
        self.fs_reclaim_acquire(gfp_mask)
        flags = current.flags
        current.flags |= PF_MEMALLOC
        tp = self.trace.mm_vmscan_direct_reclaim_begin
        if tp.probes:
            tp(0, gfp_mask)
        try:
            progress = self.try_to_free_pages(gfp_mask)
        finally:
            current.flags = flags
            self.fs_reclaim_release(gfp_mask)
        tp = self.trace.mm_vmscan_direct_reclaim_end
        if tp.probes:
            tp(progress)
        return progress

    def out_of_memory(self, gfp_mask: int) -> bool:
        """mm/oom_kill.c: mark the victim; it dies with SIGKILL when it gets
        back to user space."""
        self.current.oom_victim = True
        self.trace.report("oom", f"Out of memory: Killed process {self.current.pid} "
                                 f"({self.current.comm})")
        return True

    # -- folios ---------------------------------------------------------------------

    def folio_alloc(self, gfp: int):
        """An order-0 folio, or None."""
        if not self.alloc_pages(gfp):
            tp = self.trace.mm_page_alloc
            if tp.probes:
                tp(None, 0, gfp)
            return None
        self.next_pfn += 1
        new = folio(self.next_pfn)
        self.nr_folios += 1
        tp = self.trace.mm_page_alloc
        if tp.probes:
            tp(new, 0, gfp)
        return new

    def folio_put(self, f) -> None:
        """Drop a reference; the last one frees the folio."""
        f._refcount -= 1
        if f._refcount == 0:
            tp = self.trace.mm_page_free
            if tp.probes:
                tp(f, 0)
            self.folio_del_lru(f)
            # The kernel clears ->mapping only here, at free time: until then
            # an unmapped folio keeps pointing at its anon_vma.
            f.mapping = None
            f.freed = True
            self.nr_folios -= 1
            self.free_one_page()

    def folio_get(self, f) -> None:
        f._refcount += 1

    def folio_try_get(self, f) -> bool:
        """A reference unless the folio is being freed (refcount 0)."""
        if f._refcount == 0:
            return False
        f._refcount += 1
        return True


# The ip lockdep records for fs_reclaim: the annotation's own function, as
# the kernel's reports say "at: fs_reclaim_acquire".
_FS_RECLAIM_ACQUIRE_IP = PageAlloc.fs_reclaim_acquire.__code__
_FS_RECLAIM_ACQUIRE_IP_KSWAPD = PageAlloc._fs_reclaim_acquire.__code__
