"""mm/mseal.c (Linux 6.18): sealing a range.

A sealed VMA (VM_SEALED) refuses munmap, mprotect, mremap, MAP_FIXED over
it, shrinking brk over it and, where it is anonymous and not writable, the
madvise advice that discards its pages; each of those checks sits in the
function the kernel has it in.  Sealing is a vm_flag, so sealing part of a
VMA splits it and sealed neighbours merge.
"""

from __future__ import annotations

from ..include.errno import EINVAL, ENOMEM
from ..include.mm import PAGE_ALIGN, PAGE_MASK, VM_SEALED


class Mseal:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def sys_mseal(self, start: int, len_in: int, flags: int) -> int:
        return self.do_mseal(start, len_in, flags)

    def do_mseal(self, start: int, len_in: int, flags: int) -> int:
        if flags:
            return -EINVAL
        if start & ~PAGE_MASK:
            return -EINVAL
        length = PAGE_ALIGN(len_in)
        if len_in and not length:
            return -EINVAL
        end = start + length
        if end < start:
            return -EINVAL
        if end == start:
            return 0
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            if self.range_contains_unmapped(mm, start, end):
                return -ENOMEM
            # Second pass: this succeeds unless vma_modify_flags() cannot
            # split or merge.
            return self.mseal_apply(mm, start, end)
        finally:
            self.mmap_write_unlock(mm)

    def range_contains_unmapped(self, mm, start: int, end: int) -> bool:
        prev_end = start
        for vma in mm.mm_mt.range(start, end):
            if vma.vm_start > prev_end:
                return True
            prev_end = vma.vm_end
        return prev_end < end

    def mseal_apply(self, mm, start: int, end: int) -> int:
        vma = mm.mm_mt.lookup(start)
        prev = mm.mm_mt.prev(vma)
        if start > vma.vm_start:
            prev = vma
        while vma is not None and vma.vm_start < end:
            curr_start = max(vma.vm_start, start)
            curr_end = min(vma.vm_end, end)
            if not vma.vm_flags & VM_SEALED:
                vma = self.vma_modify_flags(prev, vma, curr_start, curr_end,
                                            vma.vm_flags | VM_SEALED)
                if isinstance(vma, int):
                    return vma
                self.vma_start_write(vma)
                vma.vm_flags |= VM_SEALED
            prev = vma
            vma = mm.mm_mt.find(vma.vm_end)
        return 0
