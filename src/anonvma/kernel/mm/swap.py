"""The LRU lists (mm/swap.c): where reclaim finds anonymous folios.

One list, in insertion order, is enough for the model's reclaim: the kernel's
active/inactive split decides *which* folio goes first, not how rmap is used.
"""

from __future__ import annotations


class Swap:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def folio_add_lru(self, folio) -> None:
        self.lru[folio] = None

    def folio_del_lru(self, folio) -> None:
        self.lru.pop(folio, None)

    def folio_deactivate(self, folio) -> None:
        """MADV_COLD: the folio goes to the end reclaim takes from first."""
        lru = self.lru
        if folio in lru:
            del lru[folio]
            rest = dict(lru)
            lru.clear()
            lru[folio] = None
            lru.update(rest)
