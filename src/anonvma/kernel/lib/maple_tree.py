"""The VMA tree of an mm (lib/maple_tree.c), as two parallel sorted lists.

The kernel keeps an mm's VMAs in a maple tree indexed by address range.  The
model needs the same queries (the VMA containing an address, the next and
previous VMA, every VMA in a range, in address order) and gets them from a
list of ``vm_start``s searched with ``bisect`` beside the list of the VMAs
themselves.  A lookup is O(log n) like the maple tree's; an insert or erase
moves the tail of two flat lists, which is a memmove and cheaper than any
node allocation for the few thousand VMAs of a process.  __mt_dup() copies
the two lists, and the stores of dup_mmap(), which come in address order
and replace an entry at the same start, find it at once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right


class maple_tree:
    __slots__ = ("_starts", "_vmas")

    def __init__(self):
        self._starts: list[int] = []
        self._vmas: list = []

    def __len__(self) -> int:
        return len(self._vmas)

    def dup(self) -> "maple_tree":
        """__mt_dup(): a copy of the whole tree, every entry still the old
        VMA; dup_mmap() replaces them one by one."""
        new = maple_tree()
        new._starts = self._starts[:]
        new._vmas = self._vmas[:]
        return new

    def truncate(self, addr: int) -> None:
        """Drop every entry from ``addr`` on: the model's XA_ZERO_ENTRY,
        where a failed dup_mmap() stopped."""
        i = bisect_left(self._starts, addr)
        del self._starts[i:]
        del self._vmas[i:]

    def store(self, vma) -> None:
        """vma_iter_store(): the range must be free (callers erase first),
        or hold an entry at the same start, which is replaced (dup_mmap)."""
        starts = self._starts
        start = vma.vm_start
        if not starts or starts[-1] < start:
            starts.append(start)            # mmap at the top, and the first store
            self._vmas.append(vma)
            return
        i = bisect_left(starts, start)
        if starts[i] == start:
            self._vmas[i] = vma
        else:
            starts.insert(i, start)
            self._vmas.insert(i, vma)

    def _index(self, start: int) -> int:
        """Where the entry at ``start`` is (a ValueError if none is)."""
        starts = self._starts
        i = bisect_left(starts, start)
        if i == len(starts) or starts[i] != start:
            raise ValueError(f"maple_tree: no entry at {start:#x}")
        return i

    def erase(self, vma) -> None:
        i = self._index(vma.vm_start)
        del self._starts[i]
        del self._vmas[i]

    def rekey(self, vma, old_start: int) -> None:
        """A VMA's vm_start changed under the mmap write lock."""
        if old_start != vma.vm_start:
            i = self._index(old_start)
            del self._starts[i]
            del self._vmas[i]
            self.store(vma)

    def find(self, addr: int):
        """find_vma(): the first VMA with vm_end > addr, or None."""
        vmas = self._vmas
        i = bisect_right(self._starts, addr) - 1
        if i >= 0:
            vma = vmas[i]
            if vma.vm_end > addr:
                return vma
        i += 1
        if i < len(vmas):
            return vmas[i]
        return None

    def lookup(self, addr: int):
        """vma_lookup(): the VMA containing addr, or None."""
        vma = self.find(addr)
        if vma is not None and vma.vm_start <= addr:
            return vma
        return None

    def prev(self, vma):
        """vma_prev(): the VMA before ``vma`` in address order, or None."""
        i = self._index(vma.vm_start)
        return self._vmas[i - 1] if i > 0 else None

    def next(self, vma):
        i = self._index(vma.vm_start) + 1
        return self._vmas[i] if i < len(self._vmas) else None

    def prev_of_addr(self, addr: int):
        """The last VMA that ends at or below ``addr``."""
        vmas = self._vmas
        i = bisect_left(self._starts, addr) - 1
        while i >= 0:
            vma = vmas[i]
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
        starts = self._starts
        return self._vmas[bisect_left(starts, first.vm_start):bisect_left(starts, end)]

    def __iter__(self):
        """for_each_vma(): every VMA in address order (a snapshot, so callers
        may change the tree while they walk it)."""
        return iter(self._vmas[:])
