"""mm/mmap.c (Linux 6.18): mmap, munmap, fork's dup_mmap and exit_mmap.

``dup_mmap`` moved here from kernel/fork.c in 6.15; it sits beside
``exit_mmap`` as in the live kernel's symbol table.
"""

from __future__ import annotations

from ..include.errno import EEXIST, EINVAL, ENOMEM
from ..include.mm import (
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE, MAP_PRIVATE, OVERCOMMIT_NEVER,
    PAGE_ALIGN, PAGE_SHIFT, PAGE_SIZE, STACK_GUARD_GAP, TASK_SIZE, VM_DONTCOPY, VM_LOCKED_MASK,
    VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_NORESERVE, VM_WIPEONFORK,
    calc_vm_prot_bits, offset_in_page, vm_start_gap,
)


class Mmap:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def sys_mmap(self, addr: int, length: int, prot: int, flags: int) -> int:
        """ksys_mmap_pgoff() -> vm_mmap_pgoff(): private anonymous mappings."""
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            return self.do_mmap(addr, length, prot, flags)
        finally:
            self.mmap_write_unlock(mm)

    def do_mmap(self, addr: int, length: int, prot: int, flags: int) -> int:
        """Returns the address mapped, or -errno."""
        mm = self.current.mm
        if not length:
            return -EINVAL
        # force arch specific MAP_FIXED handling in get_unmapped_area
        if flags & MAP_FIXED_NOREPLACE:
            flags |= MAP_FIXED
        length = PAGE_ALIGN(length)
        if not length:
            return -ENOMEM
        if mm.map_count > self.sysctl_max_map_count:
            return -ENOMEM
        if flags & MAP_ANONYMOUS == 0 or flags & MAP_PRIVATE == 0:
            return -EINVAL              # the model maps private anonymous memory only
        vm_flags = calc_vm_prot_bits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
        addr = self._get_unmapped_area(addr, length, flags)
        if addr < 0:
            return addr
        if flags & MAP_FIXED_NOREPLACE:
            vma = mm.mm_mt.find(addr)
            if vma is not None and vma.vm_start < addr + length:
                return -EEXIST
        # An anonymous private mapping's pgoff is its own page number.
        pgoff = addr >> PAGE_SHIFT
        # MAP_NORESERVE is honoured whenever overcommit is allowed.
        if flags & MAP_NORESERVE and self.sysctl_overcommit_memory != OVERCOMMIT_NEVER:
            vm_flags |= VM_NORESERVE
        return self.mmap_region(mm, addr, length, vm_flags, pgoff)

    def _get_unmapped_area(self, addr: int, length: int, flags: int) -> int:
        """The address to map at: MAP_FIXED's own, a free hint, or one the
        top-down search picks; checked to fit and be aligned."""
        if length > TASK_SIZE:
            return -ENOMEM
        # A hint never asks for THP alignment (that is only for addr 0).
        addr = self.arch_get_unmapped_area_topdown(addr, length, flags)
        if addr < 0:
            return addr
        if addr > TASK_SIZE - length:
            return -ENOMEM
        if offset_in_page(addr):
            return -EINVAL
        return addr

    def sys_brk(self, brk: int) -> int:
        """Move the end of the heap; returns the new break, or the old one
        if the move is refused (brk() never returns an error)."""
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            origbrk = mm.brk
            if brk < mm.start_brk:
                return origbrk
            newbrk = PAGE_ALIGN(brk)
            oldbrk = PAGE_ALIGN(mm.brk)
            if oldbrk == newbrk:
                mm.brk = brk
                return brk
            # Always allow shrinking brk.
            if brk <= mm.brk:
                brkvma = mm.mm_mt.find(newbrk)
                if brkvma is None or brkvma.vm_start >= oldbrk:
                    return origbrk      # the range holds no heap to unmap
                mm.brk = brk
                if self.do_vmi_align_munmap(brkvma, mm, newbrk, oldbrk):
                    mm.brk = origbrk
                    return origbrk
                return brk
            # Only check if the next VMA is within the stack_guard_gap of
            # the expansion area: the heap keeps a page free below it.
            next = mm.mm_mt.find(oldbrk)
            if next is not None and next.vm_start < newbrk + PAGE_SIZE + STACK_GUARD_GAP \
                    and newbrk + PAGE_SIZE > vm_start_gap(next):
                return origbrk
            # vma_prev_limit(): the VMA before oldbrk, if it reaches into the heap
            brkvma = mm.mm_mt.prev_of_addr(oldbrk)
            if brkvma is not None and brkvma.vm_end <= mm.start_brk:
                brkvma = None
            if self.do_brk_flags(mm, brkvma, oldbrk, newbrk - oldbrk, 0) < 0:
                return origbrk
            mm.brk = brk
            return brk
        finally:
            self.mmap_write_unlock(mm)

    def sys_munmap(self, addr: int, length: int) -> int:
        """__vm_munmap()."""
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            return self.do_vmi_munmap(mm, addr, length)
        finally:
            self.mmap_write_unlock(mm)

    def dup_mmap(self, mm, oldmm) -> int:
        """Copy ``oldmm``'s VMAs into the child's ``mm``: anon_vma_fork() and
        then the page tables, VMA by VMA in address order."""
        self.mmap_write_lock(oldmm)
        # Not linked in yet: no deadlock potential.
        self.mmap_write_lock_nested(mm, 1)
        # __mt_dup(): the child's tree starts as a copy of the parent's;
        # each entry is then replaced by the child's own VMA, or erased.
        mm.mm_mt = oldmm.mm_mt.dup()
        retval = 0
        try:
            for mpnt in oldmm.mm_mt:
                self.vma_start_write(mpnt)
                if mpnt.vm_flags & VM_DONTCOPY:
                    mm.mm_mt.erase(mpnt)
                    continue
                tmp = self.vm_area_dup(mpnt)
                if tmp is None:
                    retval = -ENOMEM
                    break
                tmp.vm_mm = mm
                if tmp.vm_flags & VM_WIPEONFORK:
                    # A clean slate in the child: no anon_vma until it faults.
                    tmp.anon_vma = None
                elif self.anon_vma_fork(tmp, mpnt):
                    self.vm_area_free(tmp)
                    retval = -ENOMEM
                    break
                tmp.vm_flags &= ~VM_LOCKED_MASK
                self.dup_userfaultfd(tmp)
                mm.mm_mt.store(tmp)
                tmp.detached = False
                mm.map_count += 1
                if not tmp.vm_flags & VM_WIPEONFORK:
                    retval = self.copy_page_range(tmp, mpnt)
                    if retval:
                        mpnt = oldmm.mm_mt.next(mpnt)
                        break
                self.cond_resched()
            else:
                mpnt = None
            if retval and mpnt is not None:
                # XA_ZERO_ENTRY: what was not duplicated is not the child's
                mm.mm_mt.truncate(mpnt.vm_start)
        finally:
            self.mmap_write_unlock(mm)
            self.mmap_write_unlock(oldmm)
        return retval

    def exit_mmap(self, mm) -> None:
        """The mm's last user is gone: unmap everything, unlink every VMA from
        rmap (free_pgtables), then free the VMAs."""
        self.mmap_read_lock(mm)
        vmas = list(mm.mm_mt)
        if vmas:
            self.unmap_vmas(vmas)
        self.mmap_read_unlock(mm)
        self.mmap_write_lock(mm)
        if vmas:
            self.free_pgtables(vmas)
            for vma in vmas:
                vma.detached = True
                self.remove_vma(vma)
                self.cond_resched()
            self.VM_BUG_ON(len(vmas) != mm.map_count, "exit_mmap: map_count does not match the VMA tree")
        # A dup_mmap() that failed stored only the VMAs it finished (the
        # kernel's XA_ZERO_ENTRY marks where it stopped), so all are walked.
        mm.mm_mt = type(mm.mm_mt)()
        mm.map_count = 0
        tp = self.trace.exit_mmap
        if tp.probes:
            tp(mm)
        self.mmap_write_unlock(mm)
