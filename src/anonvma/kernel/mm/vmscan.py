"""Page reclaim (mm/vmscan.c, Linux 6.18), as far as anonymous folios go.

Reclaim reaches the reverse map twice for each anonymous folio it looks at:
``folio_referenced`` (were its PTEs young?) and, for one going to swap,
``try_to_unmap``.  In 6.18 the first only trylocks the anon_vma root (it
reports contention instead of blocking); the second takes it for read and
may sleep.  That is the path by which any allocation that may reclaim can
end up waiting for an anon_vma lock, and why none may be made under one.

The LRU is one list in insertion order (``kernel.lru``); a referenced folio
goes to its tail again (activation), the rest are swapped out, which needs a
swap device (``set swap N``).  Writeback completes at once.
"""

from __future__ import annotations

from ..include.gfp import GFP_KERNEL
from ..kernel.sched.core import PF_KSWAPD, PF_KTHREAD, PF_MEMALLOC, task_struct

SWAP_CLUSTER_MAX = 32
DEF_PRIORITY = 12


class Vmscan:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    # -- direct reclaim -------------------------------------------------------------

    def try_to_free_pages(self, gfp_mask: int) -> int:
        """Reclaim up to SWAP_CLUSTER_MAX folios; the number freed."""
        nr_reclaimed = 0
        for priority in range(DEF_PRIORITY, -1, -1):
            nr_reclaimed += self.shrink_lruvec(priority, SWAP_CLUSTER_MAX - nr_reclaimed)
            if nr_reclaimed >= SWAP_CLUSTER_MAX:
                break
        return nr_reclaimed

    def shrink_lruvec(self, priority: int, nr_to_reclaim: int) -> int:
        """Scan the oldest ``len(lru) >> priority`` folios (at least one)."""
        nr_scan = max(1, len(self.lru) >> priority)
        folios = []
        for f in self.lru:
            if len(folios) == nr_scan:
                break
            folios.append(f)
        nr_reclaimed = 0
        for f in folios:
            if nr_reclaimed >= nr_to_reclaim:
                break
            # isolate_lru_folios(): a reference for reclaim, unless the folio
            # was freed meanwhile by someone else
            if f in self.lru and self.folio_try_get(f):
                nr_reclaimed += self.shrink_folio_list([f], ignore_references=False)
        return nr_reclaimed

    def reclaim_pages(self, folio_list) -> int:
        """MADV_PAGEOUT's entry: reclaim exactly these folios (isolated by
        the caller), ignoring their referenced bits."""
        return self.shrink_folio_list(folio_list, ignore_references=True)

    def shrink_folio_list(self, folio_list, ignore_references: bool) -> int:
        """Reclaim isolated folios.  Each comes with the reference its
        isolation took (folio_isolate_lru(), isolate_lru_folios()), so that
        an exit or munmap zapping it meanwhile cannot free it under reclaim;
        that reference is dropped here, and for a reclaimed folio it is the
        last one (free_unref_folios() in the kernel)."""
        nr_reclaimed = 0
        for f in folio_list:
            if not self.folio_trylock(f):
                self.folio_put(f)
                continue
            try:
                if not ignore_references and self.folio_check_references(f):
                    self.folio_activate(f)
                    continue
                # An anonymous folio needs a swap slot before it can go,
                # unless MADV_FREE made it lazyfree: that one is discarded.
                if f.swapbacked and f.swap is None and not self.folio_alloc_swap(f):
                    self.folio_activate(f)
                    continue
                if self.folio_mapped(f):
                    self.try_to_unmap(f)
                    if self.folio_mapped(f):
                        self.folio_activate(f)
                        continue
                if not f.swapbacked:
                    # lazyfree: reclaim's reference is the last unless
                    # someone pinned it meanwhile (folio_ref_freeze(folio, 1))
                    nr_reclaimed += f._refcount == 1
                    continue
                # pageout() writes it; then __remove_mapping() takes it out
                # of the swap cache if the cache and reclaim hold the only
                # references (folio_ref_freeze(folio, 1 + nr_pages)).
                if f._refcount == 2:
                    nr_reclaimed += 1
                    self.delete_from_swap_cache(f)
                    continue
            finally:
                self.folio_unlock(f)
                self.folio_put(f)
        return nr_reclaimed

    def folio_check_references(self, f) -> bool:
        """Keep (activate) a folio whose mappings were used since the last
        look, or whose anon_vma lock was contended (-1)."""
        return self.folio_referenced(f, True) != 0

    def folio_activate(self, f) -> None:
        if f in self.lru:
            del self.lru[f]
            self.lru[f] = None

    # -- kswapd ------------------------------------------------------------------------

    def kswapd_run(self) -> None:
        """Start kswapd0 as a kernel thread of the installed scheduler; a
        sequential scheduler never runs it, as nothing ever sleeps there."""
        tsk = task_struct(self.alloc_pid(), "kswapd0", flags=PF_KTHREAD | PF_KSWAPD | PF_MEMALLOC)
        self.kswapd_task = tsk
        self.sched.spawn(tsk, self.kswapd, daemon=True)

    def wakeup_kswapd(self, gfp_mask: int) -> None:
        tp = self.trace.mm_vmscan_wakeup_kswapd
        if tp.probes:
            tp(0, gfp_mask)
        self.kswapd_wait = True
        # The kernel starts kswapd at boot; the model starts it at its first
        # wakeup, which nobody can tell apart from a kswapd asleep until then.
        if self.kswapd_task is None:
            self.kswapd_run()

    def kswapd(self) -> None:
        while True:
            self.sched.wait_for(self, lambda: self.kswapd_wait)
            self.kswapd_wait = False
            self.balance_pgdat()

    def balance_pgdat(self) -> None:
        """Reclaim until the zone is above its high watermark, holding
        fs_reclaim as kswapd does."""
        self._fs_reclaim_acquire()
        try:
            while self.zone.nr_free < self.zone.wmark_high:
                if not self.try_to_free_pages(GFP_KERNEL):
                    break
        finally:
            self._fs_reclaim_release()
