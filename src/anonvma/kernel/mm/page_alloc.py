"""The page allocator (mm/page_alloc.c): folios for user pages.

``might_alloc()`` is the hook every allocation passes first (include/linux/
sched/mm.h): lockdep's ``fs_reclaim`` annotation and ``might_sleep``.
"""

from __future__ import annotations

from ..include.gfp import gfpflags_allow_blocking
from .mm_types import folio


class PageAlloc:

    def might_alloc(self, gfp_mask: int) -> None:
        if self.lockdep is not None:
            self.fs_reclaim_acquire(gfp_mask)
            self.fs_reclaim_release(gfp_mask)
        if gfpflags_allow_blocking(gfp_mask):
            self.might_sleep()

    def fs_reclaim_acquire(self, gfp_mask: int) -> None:
        self.lockdep.fs_reclaim_acquire(gfp_mask)

    def fs_reclaim_release(self, gfp_mask: int) -> None:
        self.lockdep.fs_reclaim_release(gfp_mask)

    def folio_alloc(self, gfp: int):
        """An order-0 folio, or None.  Every user page comes from here."""
        self.might_alloc(gfp)
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

    def folio_get(self, f) -> None:
        f._refcount += 1
