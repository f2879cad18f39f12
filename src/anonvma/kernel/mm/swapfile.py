"""Swap (mm/swapfile.c, mm/swap_state.c): one swap area of ``set swap N``
slots, its use counts, and the swap cache.

``swap_map[offset]`` counts the swap PTEs that point at a slot; the swap
cache (``swap_cache[offset]``) holds the folio while it is being written out
or after it was read back, so that every process sharing the slot maps the
same folio.  A slot is free when neither uses it.  The kernel folds the
cache into ``swap_map`` as SWAP_HAS_CACHE; two fields read more plainly.
"""

from __future__ import annotations

from .mm_types import swp_pte_t


class swap_info_struct:
    __slots__ = ("swap_map", "swap_cache", "inuse")

    def __init__(self, slots: int):
        self.swap_map = [0] * slots
        self.swap_cache: dict = {}
        self.inuse = 0


class Swapfile:

    def swap_init(self, slots: int) -> None:
        self.swap_info = swap_info_struct(slots) if slots else None

    def folio_alloc_swap(self, folio) -> bool:
        """A slot for ``folio`` (lowest free first), entered in the swap
        cache, which holds a reference on the folio."""
        si = self.swap_info
        if si is None:
            return False
        for offset, count in enumerate(si.swap_map):
            if not count and offset not in si.swap_cache:
                break
        else:
            return False
        si.inuse += 1
        si.swap_cache[offset] = folio
        folio.swap = offset
        self.folio_get(folio)
        return True

    def swap_cache_get_folio(self, entry: swp_pte_t):
        return self.swap_info.swap_cache.get(entry.offset)

    def add_to_swap_cache(self, folio, entry: swp_pte_t) -> None:
        self.swap_info.swap_cache[entry.offset] = folio
        folio.swap = entry.offset
        self.folio_get(folio)

    def delete_from_swap_cache(self, folio) -> None:
        si = self.swap_info
        offset = folio.swap
        del si.swap_cache[offset]
        folio.swap = None
        if not si.swap_map[offset]:
            si.inuse -= 1
        self.folio_put(folio)

    def swap_duplicate(self, entry: swp_pte_t) -> None:
        self.swap_info.swap_map[entry.offset] += 1

    def swap_free(self, entry: swp_pte_t) -> None:
        si = self.swap_info
        si.swap_map[entry.offset] -= 1
        if not si.swap_map[entry.offset] and entry.offset not in si.swap_cache:
            si.inuse -= 1

    def free_swap_and_cache(self, entry: swp_pte_t) -> None:
        """A swap PTE is zapped: drop its count, and the cached folio too if
        nothing maps it and no other PTE needs the slot."""
        self.swap_free(entry)
        folio = self.swap_info.swap_cache.get(entry.offset)
        if folio is not None and not self.swap_info.swap_map[entry.offset] \
                and not self.folio_mapped(folio):
            self.delete_from_swap_cache(folio)

    def folio_free_swap(self, folio) -> bool:
        """Free the slot of a cached folio no swap PTE points at any more."""
        if folio.swap is None or self.swap_info.swap_map[folio.swap]:
            return False
        self.delete_from_swap_cache(folio)
        return True
