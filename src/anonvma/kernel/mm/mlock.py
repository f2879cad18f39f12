"""mm/mlock.c (Linux 6.18): mlock, mlock2 and munlock of a range.

VM_LOCKED and VM_LOCKONFAULT are vm_flags, so locking part of a VMA splits
it and locking a neighbour's range merges them; mlock then faults the range
in (``__mm_populate``, mm/gup.c), which is where a locked range gets its
anon_vma.  The model keeps no mlock count on folios: reclaim refuses to
unmap a folio from a VM_LOCKED VMA (try_to_unmap_one), which is what the
unevictable list achieves for the reverse map.
"""

from __future__ import annotations

from ..include.errno import EAGAIN, EFAULT, EINVAL, ENOMEM
from ..include.mm import (
    MLOCK_ONFAULT, PAGE_ALIGN, PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, VM_ACCESS_FLAGS, VM_LOCKED,
    VM_LOCKED_MASK, VM_LOCKONFAULT, VM_SHARED, VM_WRITE, offset_in_page,
)


class Mlock:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def sys_mlock(self, start: int, length: int) -> int:
        return self.do_mlock(start, length, VM_LOCKED)

    def sys_mlock2(self, start: int, length: int, flags: int) -> int:
        if flags & ~MLOCK_ONFAULT:
            return -EINVAL
        vm_flags = VM_LOCKED
        if flags & MLOCK_ONFAULT:
            vm_flags |= VM_LOCKONFAULT
        return self.do_mlock(start, length, vm_flags)

    def sys_munlock(self, start: int, length: int) -> int:
        length = PAGE_ALIGN(length + offset_in_page(start))
        start &= PAGE_MASK
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            return self.apply_vma_lock_flags(start, length, 0)
        finally:
            self.mmap_write_unlock(mm)

    def do_mlock(self, start: int, length: int, flags: int) -> int:
        """Lock the range (the scenario's tasks have CAP_IPC_LOCK, so no
        RLIMIT_MEMLOCK), then fault it in."""
        length = PAGE_ALIGN(length + offset_in_page(start))
        start &= PAGE_MASK
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            error = self.apply_vma_lock_flags(start, length, flags)
        finally:
            self.mmap_write_unlock(mm)
        if error:
            return error
        error = self._mm_populate(start, length, 0)
        if error:
            return self._mlock_posix_error_return(error)
        return 0

    def _mlock_posix_error_return(self, retval: int) -> int:
        if retval == -EFAULT:
            return -ENOMEM
        if retval == -ENOMEM:
            return -EAGAIN
        return retval

    def apply_vma_lock_flags(self, start: int, length: int, flags: int) -> int:
        """Set ``flags`` (VM_LOCKED, VM_LOCKONFAULT or none) on every VMA of
        the range; a hole stops it with -ENOMEM, keeping what was done."""
        mm = self.current.mm
        end = start + length
        if end < start:
            return -EINVAL
        if end == start:
            return 0
        vma = mm.mm_mt.lookup(start)
        if vma is None:
            return -ENOMEM
        prev = mm.mm_mt.prev(vma)
        if start > vma.vm_start:
            prev = vma
        nstart = start
        tmp = vma.vm_start
        while vma is not None and vma.vm_start < end:
            if vma.vm_start != tmp:
                return -ENOMEM
            newflags = (vma.vm_flags & ~VM_LOCKED_MASK) | flags
            tmp = min(vma.vm_end, end)
            error, prev = self.mlock_fixup(vma, prev, nstart, tmp, newflags)
            if error:
                return error
            # the fixed-up VMA may have merged past tmp: go on from its end
            tmp = prev.vm_end
            nstart = tmp
            vma = mm.mm_mt.find(tmp)
        if tmp < end:
            return -ENOMEM
        return 0

    def mlock_fixup(self, vma, prev, start: int, end: int, newflags: int):
        """Returns (error, the VMA now covering [start, end))."""
        if newflags == vma.vm_flags:
            return 0, vma
        vma = self.vma_modify_flags(prev, vma, start, end, newflags)
        if isinstance(vma, int):
            return vma, prev
        # mlock_vma_pages_range() also walks the page tables to move present
        # folios to the unevictable list; the model keeps no such list.
        self.vma_start_write(vma)
        vma.vm_flags = newflags
        return 0, vma

    # -- mm/gup.c ---------------------------------------------------------------------

    def _mm_populate(self, start: int, length: int, ignore_errors: int) -> int:
        """Fault in [start, start + length), VMA by VMA, as mlock and
        MAP_POPULATE do."""
        mm = self.current.mm
        end = start + length
        ret = 0
        self.mmap_read_lock(mm)
        try:
            nstart = start
            while nstart < end:
                vma = mm.mm_mt.find(nstart)
                if vma is None or vma.vm_start >= end:
                    break
                nend = min(end, vma.vm_end)
                nstart = max(nstart, vma.vm_start)
                ret = self.populate_vma_page_range(vma, nstart, nend)
                if ret < 0:
                    if ignore_errors:
                        ret = 0
                        nstart = nend
                        continue
                    break
                nstart = nend
                ret = 0
        finally:
            self.mmap_read_unlock(mm)
        return ret

    def populate_vma_page_range(self, vma, start: int, end: int) -> int:
        """get_user_pages() over the range: a write fault per page of a
        private writable mapping (breaking COW), else a read fault."""
        nr_pages = (end - start) >> PAGE_SHIFT
        # VM_LOCKONFAULT has never faulted anything in, nor has PROT_NONE
        if vma.vm_flags & VM_LOCKONFAULT:
            return nr_pages
        if not vma.vm_flags & VM_ACCESS_FLAGS:
            return -EFAULT
        write = (vma.vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE
        pgd = vma.vm_mm.pgd
        for addr in range(start, end, PAGE_SIZE):
            # follow_page_pte(): a present PTE that fits needs no fault
            pte = pgd.get(addr >> PAGE_SHIFT)
            if pte is not None and pte.present and (pte.write or not write):
                continue
            ret = self.faultin_page(vma, addr, write)
            if ret:
                return ret
            self.cond_resched()
        return nr_pages
