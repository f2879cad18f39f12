"""Swap (mm/swapfile.c, mm/swap_state.c): one swap area of ``set swap N``
slots, its use counts, and the swap cache.

``swap_map[offset]`` counts the swap PTEs that point at a slot; the swap
cache (``swap_cache[offset]``) holds the folio while it is being written out
or after it was read back, so that every process sharing the slot maps the
same folio.  A slot is free when neither uses it.  The kernel folds the
cache into ``swap_map`` as SWAP_HAS_CACHE; two fields read more plainly.

The kernel's swap_map is an array of ``max`` bytes; here it holds only the
slots in use (offset -> count), and the free slots below the highest ever
used wait in a heap, so that an area of 2^32 slots costs what it holds.
"""

from __future__ import annotations

import heapq

from .mm_types import swp_pte_t


class swap_info_struct:
    __slots__ = ("max", "swap_map", "swap_cache", "inuse", "free_slots", "highest")

    def __init__(self, slots: int):
        self.max = slots
        self.swap_map: dict[int, int] = {}
        self.swap_cache: dict = {}
        self.inuse = 0
        self.free_slots: list[int] = []     # freed offsets below highest, a heap
        self.highest = 0                    # offsets from here on were never used


def swap_range_free(si: swap_info_struct, offset: int) -> None:
    """The slot is unused again: neither swap PTEs nor the swap cache."""
    si.inuse -= 1
    heapq.heappush(si.free_slots, offset)


class Swapfile:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def swap_init(self, slots: int) -> None:
        self.swap_info = swap_info_struct(slots) if slots else None

    def folio_alloc_swap(self, folio) -> bool:
        """A slot for ``folio`` (lowest free first), entered in the swap
        cache, which holds a reference on the folio."""
        si = self.swap_info
        if si is None:
            return False
        if si.free_slots:
            offset = heapq.heappop(si.free_slots)
        elif si.highest < si.max:
            offset = si.highest
            si.highest += 1
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
        if offset not in si.swap_map:
            swap_range_free(si, offset)
        self.folio_put(folio)

    def swap_duplicate(self, entry: swp_pte_t) -> None:
        si = self.swap_info
        si.swap_map[entry.offset] = si.swap_map.get(entry.offset, 0) + 1

    def swap_free(self, entry: swp_pte_t) -> None:
        si = self.swap_info
        count = si.swap_map.pop(entry.offset) - 1
        if count:
            si.swap_map[entry.offset] = count
        elif entry.offset not in si.swap_cache:
            swap_range_free(si, entry.offset)

    def free_swap_and_cache(self, entry: swp_pte_t) -> None:
        """A swap PTE is zapped: drop its count, and the cached folio too if
        nothing maps it and no other PTE needs the slot.  The folio is only
        trylocked (__try_to_reclaim_swap()): one that reclaim holds stays
        in the swap cache for reclaim to free."""
        self.swap_free(entry)
        folio = self.swap_info.swap_cache.get(entry.offset)
        if folio is not None:
            self.free_swap_cache(folio)

    def folio_free_swap(self, folio) -> bool:
        """Free the slot of a cached folio no swap PTE points at any more,
        and with it the swap cache's reference.  The caller holds the folio
        lock."""
        assert folio.locked, "VM_BUG_ON_FOLIO(!folio_test_locked(folio))"
        if folio.swap is None or folio.swap in self.swap_info.swap_map:
            return False
        self.delete_from_swap_cache(folio)
        return True

    def free_swap_cache(self, folio) -> None:
        """mm/swap_state.c: an unmapped folio leaves the swap cache if no
        swap PTE needs its slot.  Only a trylock: reclaim holds the lock
        from giving the folio a slot to unmapping it, and a folio it holds
        stays cached for reclaim to free."""
        if folio.swap is not None and not self.folio_mapped(folio) and self.folio_trylock(folio):
            self.folio_free_swap(folio)
            self.folio_unlock(folio)
