"""arch/x86/mm/fault.c: a user access, and the page fault it may take.

``handle_user_access`` plays the MMU: an access the PTE allows costs
nothing; anything else is a page fault.  The VMA is consulted first, as the
protection bits of the kernel's PTEs would answer the same question.
"""

from __future__ import annotations

from ....include.mm import PAGE_SHIFT, VM_ACCESS_FLAGS, VM_WRITE
from ....mm.memory import VM_FAULT_OOM

SIGSEGV = 11
SIGKILL = 9


class Fault:

    def handle_user_access(self, address: int, write: bool) -> int:
        """0, or the signal that kills the task."""
        mm = self.current.mm
        self.mmap_read_lock(mm)
        try:
            vma = mm.mm_mt.lookup(address)
            if vma is None or self.access_error(write, vma):
                return SIGSEGV          # bad_area: the stack cannot grow this far
            # The access retries until the PTE allows it: a fault that lost a
            # race with another thread changed nothing and is taken again.
            while True:
                pte = mm.pgd.get(address >> PAGE_SHIFT)
                if pte is not None and pte.present and (pte.write or not write):
                    pte.young = True        # the CPU sets the accessed bit
                    return 0
                tp = self.trace.page_fault_user
                if tp.probes:
                    tp(self.current, address, write)
                if self.handle_mm_fault(vma, address, write) & VM_FAULT_OOM:
                    return SIGKILL      # pagefault_out_of_memory(): the OOM killer
        finally:
            self.mmap_read_unlock(mm)

    def access_error(self, write: bool, vma) -> bool:
        if write:
            return not vma.vm_flags & VM_WRITE
        return not vma.vm_flags & VM_ACCESS_FLAGS
