"""mm/mprotect.c (Linux 6.18): changing the protection of a range."""

from __future__ import annotations

from ..include.errno import EINVAL, ENOMEM, EPERM
from ..include.mm import (
    PAGE_ALIGN, PAGE_MASK, PROT_EXEC, PROT_READ, PROT_WRITE, VM_ACCESS_FLAGS, VM_ACCOUNT, VM_LOCKED,
    VM_NORESERVE, VM_SHARED, VM_WRITE, calc_vm_prot_bits, vma_is_sealed,
)
from .memory import pte_range


class Mprotect:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def sys_mprotect(self, start: int, length: int, prot: int) -> int:
        return self.do_mprotect_pkey(start, length, prot)

    def do_mprotect_pkey(self, start: int, length: int, prot: int) -> int:
        """Apply ``prot`` VMA by VMA.  A hole stops the walk with -ENOMEM and
        leaves the VMAs before it changed: the kernel does not roll back."""
        if start & ~PAGE_MASK:
            return -EINVAL
        if not length:
            return 0
        length = PAGE_ALIGN(length)
        end = start + length
        if end <= start:
            return -ENOMEM
        if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC):
            return -EINVAL
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            vma = mm.mm_mt.find(start)
            if vma is None or vma.vm_start >= end:
                return -ENOMEM
            if vma.vm_start > start:
                return -ENOMEM
            prev = mm.mm_mt.prev(vma)
            if start > vma.vm_start:
                prev = vma
            nstart = start
            tmp = vma.vm_start
            error = 0
            while vma is not None and vma.vm_start < end:
                # Holes are not allowed.
                if vma.vm_start != tmp:
                    error = -ENOMEM
                    break
                newflags = calc_vm_prot_bits(prot) | (vma.vm_flags & ~VM_ACCESS_FLAGS)
                tmp = min(vma.vm_end, end)
                error, prev = self.mprotect_fixup(vma, prev, nstart, tmp, newflags)
                if error:
                    break
                # The fixed-up VMA may have merged past ``tmp``: go on from its end.
                tmp = prev.vm_end
                nstart = tmp
                vma = mm.mm_mt.find(tmp)
            if not error and tmp < end:
                error = -ENOMEM
            return error
        finally:
            self.mmap_write_unlock(mm)

    def mprotect_fixup(self, vma, prev, start: int, end: int, newflags: int):
        """Returns (error, the VMA now covering [start, end))."""
        oldflags = vma.vm_flags
        if vma_is_sealed(vma):
            return -EPERM, prev
        if newflags == oldflags:
            return 0, vma
        # A private mapping that becomes writable is charged once; losing
        # write gives the charge back only if nothing was ever written.
        if newflags & VM_WRITE:
            if not oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE):
                newflags |= VM_ACCOUNT
        elif oldflags & VM_ACCOUNT and vma.anon_vma is None:
            newflags &= ~VM_ACCOUNT

        vma = self.vma_modify_flags(prev, vma, start, end, newflags)
        if isinstance(vma, int):
            return vma, prev
        self.vma_start_write(vma)
        vma.vm_flags = newflags
        self.change_protection(vma, start, end)
        # Private VM_LOCKED VMA becoming writable: trigger COW to avoid a
        # major fault on access.
        if (oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED and newflags & VM_WRITE:
            self.populate_vma_page_range(vma, start, end)
        return 0, vma

    def change_protection(self, vma, start: int, end: int) -> None:
        """Write-protect the range if it lost VM_WRITE.  Gaining VM_WRITE
        leaves PTEs read-only: the next write faults and reuses the page if
        it is exclusive (the kernel may make such PTEs writable at once; the
        reverse map is the same either way)."""
        if vma.vm_flags & VM_WRITE:
            return
        for _vpn, pte in pte_range(vma.vm_mm, start, end):
            if pte.present:
                pte.write = False
