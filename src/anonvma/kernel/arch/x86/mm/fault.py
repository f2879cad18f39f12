"""arch/x86/mm/fault.c: a user access, and the page fault it may take.

``handle_user_access`` plays the MMU: an access the PTE allows costs
nothing; anything else is a page fault.  The VMA is consulted first, as the
protection bits of the kernel's PTEs would answer the same question.
"""

from __future__ import annotations

from ....include.mm import PAGE_SHIFT, VM_ACCESS_FLAGS, VM_WRITE
from ....mm.memory import VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV

SIGBUS = 7
SIGSEGV = 11
SIGKILL = 9
MAX_OOM_RETRIES = 64


class Fault:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

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
            retries = 0
            while True:
                pte = mm.pgd.get(address >> PAGE_SHIFT)
                if pte is not None and pte.present and (pte.write or not write):
                    pte.young = True        # the CPU sets the accessed bit
                    if write:
                        pte.dirty = True    # and the dirty bit
                    return 0
                tp = self.trace.page_fault_user
                if tp.probes:
                    tp(self.current, address, write)
                fault = self.handle_mm_fault(vma, address, write)
                if fault & VM_FAULT_SIGSEGV:
                    return SIGSEGV          # a guard page
                if fault & VM_FAULT_SIGBUS:
                    return SIGBUS           # a userfaultfd's missing page
                if fault & VM_FAULT_OOM:
                    retries += 1
                    if not self.pagefault_out_of_memory(retries):
                        return SIGKILL
        finally:
            self.mmap_read_unlock(mm)

    def pagefault_out_of_memory(self, retries: int) -> bool:
        """mm/oom_kill.c (since 5.16): the allocator has already run the OOM
        killer, so a task it chose dies; any other takes the fault again.
        True means retry.  A fault that fails every time would loop in the
        kernel; the model reports the livelock and kills the task instead."""
        current = self.current
        if current.oom_victim:
            return False
        if retries <= MAX_OOM_RETRIES:
            self.trace.report("printk", "Huh VM_FAULT_OOM leaked out to the #PF handler. "
                                        "Retrying PF")
            return True
        self.trace.report("softlockup", f"watchdog: BUG: soft lockup - {current.comm}:"
                          f"{current.pid} retried a failing page fault {MAX_OOM_RETRIES} times")
        return False

    def access_error(self, write: bool, vma) -> bool:
        if write:
            return not vma.vm_flags & VM_WRITE
        return not vma.vm_flags & VM_ACCESS_FLAGS
