"""mm/gup.c (Linux 6.18): faulting a range in on behalf of user space.

``faultin_page_range`` is MADV_POPULATE_READ/WRITE's get_user_pages: VMA by
VMA, page by page, a fault wherever the PTE does not already allow the
access.  ``faultin_page`` turns a fault's result into the errno that gup
reports (vm_fault_to_errno), shared with mlock's population.
"""

from __future__ import annotations

from ..include.errno import EFAULT, EINVAL, ENOMEM
from ..include.mm import PAGE_SHIFT, PAGE_SIZE, VM_READ, VM_WRITE
from .memory import VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV


class Gup:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def faultin_page(self, vma, address: int, write: bool) -> int:
        """0, or -errno: a guard page (SIGSEGV) or a userfaultfd's missing
        page (SIGBUS) is -EFAULT, OOM -ENOMEM."""
        ret = self.handle_mm_fault(vma, address, write)
        if ret & VM_FAULT_OOM:
            return -ENOMEM
        if ret & (VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS):
            return -EFAULT
        return 0

    def check_vma_flags(self, vma, write: bool) -> int:
        """Without FOLL_FORCE the VMA must allow the access itself."""
        if write:
            return 0 if vma.vm_flags & VM_WRITE else -EFAULT
        return 0 if vma.vm_flags & VM_READ else -EFAULT

    def faultin_page_range(self, mm, start: int, end: int, write: bool) -> int:
        """Fault in [start, end) under the mmap read lock (FOLL_MADV_POPULATE:
        a hole is -ENOMEM, an access the VMA forbids -EINVAL); the number of
        pages done, or -errno.  FOLL_TOUCH marks a present page young (and,
        for a write, dirty) as the access would."""
        pgd = mm.pgd
        vma = None
        for address in range(start, end, PAGE_SIZE):
            if vma is None or address >= vma.vm_end:
                vma = mm.mm_mt.lookup(address)
                if vma is None:
                    return -ENOMEM
                if self.check_vma_flags(vma, write):
                    return -EINVAL
            pte = pgd.get(address >> PAGE_SHIFT)
            if pte is None or not pte.present or (write and not pte.write):
                ret = self.faultin_page(vma, address, write)
                if ret:
                    return ret
                pte = pgd[address >> PAGE_SHIFT]
            pte.young = True
            if write:
                pte.dirty = True
            self.cond_resched()
        return (end - start) >> PAGE_SHIFT
