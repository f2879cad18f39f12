"""The VMA tree of an mm (lib/maple_tree.c), as a sorted map.

The kernel keeps an mm's VMAs in a maple tree indexed by address range.  The
model needs the same queries (the VMA containing an address, the next and
previous VMA, every VMA in a range, in address order) and gets them from a
``SortedDict`` keyed by ``vm_start``: O(log n) like the maple tree, without
its node allocations.
"""

from __future__ import annotations

from sortedcontainers import SortedDict


class maple_tree:
    __slots__ = ("_by_start",)

    def __init__(self):
        self._by_start = SortedDict()

    def __len__(self) -> int:
        return len(self._by_start)

    def dup(self) -> "maple_tree":
        """__mt_dup(): a copy of the whole tree, every entry still the old
        VMA; dup_mmap() replaces them one by one."""
        new = maple_tree()
        new._by_start = self._by_start.copy()
        return new

    def truncate(self, addr: int) -> None:
        """Drop every entry from ``addr`` on: the model's XA_ZERO_ENTRY,
        where a failed dup_mmap() stopped."""
        starts = self._by_start
        for key in list(starts.irange(addr)):
            del starts[key]

    def store(self, vma) -> None:
        """vma_iter_store(): the range must be free (callers erase first)."""
        self._by_start[vma.vm_start] = vma

    def erase(self, vma) -> None:
        del self._by_start[vma.vm_start]

    def rekey(self, vma, old_start: int) -> None:
        """A VMA's vm_start changed under the mmap write lock."""
        if old_start != vma.vm_start:
            del self._by_start[old_start]
            self._by_start[vma.vm_start] = vma

    def find(self, addr: int):
        """find_vma(): the first VMA with vm_end > addr, or None."""
        starts = self._by_start
        i = starts.bisect_right(addr) - 1
        if i >= 0:
            vma = starts.peekitem(i)[1]
            if vma.vm_end > addr:
                return vma
        i += 1
        if i < len(starts):
            return starts.peekitem(i)[1]
        return None

    def lookup(self, addr: int):
        """vma_lookup(): the VMA containing addr, or None."""
        vma = self.find(addr)
        if vma is not None and vma.vm_start <= addr:
            return vma
        return None

    def prev(self, vma):
        """vma_prev(): the VMA before ``vma`` in address order, or None."""
        starts = self._by_start
        i = starts.index(vma.vm_start)
        return starts.peekitem(i - 1)[1] if i > 0 else None

    def next(self, vma):
        starts = self._by_start
        i = starts.index(vma.vm_start) + 1
        return starts.peekitem(i)[1] if i < len(starts) else None

    def prev_of_addr(self, addr: int):
        """The last VMA that ends at or below ``addr``."""
        starts = self._by_start
        i = starts.bisect_left(addr) - 1
        while i >= 0:
            vma = starts.peekitem(i)[1]
            if vma.vm_end <= addr:
                return vma
            i -= 1
        return None

    def range(self, start: int, end: int):
        """Every VMA intersecting [start, end), in address order (a list, so
        callers may change the tree while they walk it)."""
        first = self.find(start)
        if first is None or first.vm_start >= end:
            return []
        starts = self._by_start
        out = []
        for key in starts.irange(first.vm_start, end, inclusive=(True, False)):
            out.append(starts[key])
        return out

    def __iter__(self):
        """for_each_vma(): every VMA in address order (a snapshot, so callers
        may change the tree while they walk it)."""
        return iter(list(self._by_start.values()))
