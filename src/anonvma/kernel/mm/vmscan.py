"""mm/vmscan.c (Linux 6.18): page reclaim, as far as anonymous folios go.

An anonymous, swap-backed folio can only be reclaimed by writing it to
swap.  The machine the model imitates by default, like the one its traces
were taken on, has no swap device, so reclaim gives every such folio back
to the LRU as active, before ``try_to_unmap`` is reached.
"""

from __future__ import annotations


class Vmscan:

    def reclaim_pages(self, folio_list) -> int:
        """MADV_PAGEOUT's entry: reclaim exactly these folios, ignoring
        their referenced bits."""
        return self.shrink_folio_list(folio_list, ignore_references=True)

    def shrink_folio_list(self, folio_list, ignore_references: bool) -> int:
        for folio in folio_list:
            if not self.folio_trylock(folio):
                continue
            try:
                if not ignore_references and self.folio_referenced(folio, True) != 0:
                    continue        # FOLIOREF_ACTIVATE / FOLIOREF_KEEP
                # activate_locked: without a swap slot the folio stays mapped
                self.folio_alloc_swap(folio)
            finally:
                self.folio_unlock(folio)
        return 0

    def folio_alloc_swap(self, folio) -> bool:
        """mm/swapfile.c: a swap slot for ``folio``.  The model's machine has
        no swap device, so there is never one."""
        return False
