"""mm/mremap.c (Linux 6.18, after the vma_remap_struct rework).

A move copies the source VMA to the destination (``copy_vma``: a merge, or
a new VMA that clones the *whole* source chain), moves the page tables (the
folios keep their anon_vma and index, which is why a faulted VMA keeps its
pgoff), then unmaps the source range, or with MREMAP_DONTUNMAP unlinks the
old VMA from rmap if all of it moved.
"""

from __future__ import annotations

from ..include.errno import EFAULT, EINVAL, ENOMEM, EPERM
from ..include.mm import (
    MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_ALIGN, PAGE_SHIFT, TASK_SIZE,
    VM_ACCOUNT, VM_LOCKED, VM_LOCKED_MASK, _VM_UFFD_FLAGS, offset_in_page, vma_is_sealed,
)
from .memory import pte_range

MREMAP_NO_RESIZE, MREMAP_SHRINK, MREMAP_EXPAND = range(3)


class vma_remap_struct:
    """mm/mremap.c: one mremap() request as it is worked through."""

    __slots__ = ("addr", "old_len", "new_len", "flags", "new_addr", "vma", "delta",
                 "remap_type", "populate_expand")

    def __init__(self, addr: int, old_len: int, new_len: int, flags: int, new_addr: int):
        self.addr = addr
        self.old_len = old_len
        self.new_len = new_len
        self.flags = flags
        self.new_addr = new_addr
        self.vma = None
        self.delta = 0
        self.remap_type = MREMAP_NO_RESIZE
        self.populate_expand = False    # mlock()'d and expanded: must populate

    def implies_new_addr(self) -> bool:
        return bool(self.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))

    def overlaps(self) -> bool:
        start_old, end_old = self.addr, self.addr + self.old_len
        start_new, end_new = self.new_addr, self.new_addr + self.new_len
        return end_old > start_new and end_new > start_old


class Mremap:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def sys_mremap(self, addr: int, old_len: int, new_len: int, flags: int, new_addr: int) -> int:
        return self.do_mremap(vma_remap_struct(addr, old_len, new_len, flags, new_addr))

    def do_mremap(self, vrm: vma_remap_struct) -> int:
        vrm.old_len = PAGE_ALIGN(vrm.old_len)
        vrm.new_len = PAGE_ALIGN(vrm.new_len)
        res = self.check_mremap_params(vrm)
        if res:
            return res
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            if vrm.flags & MREMAP_FIXED and vrm.old_len == vrm.new_len:
                res = self.remap_move(vrm)
            else:
                vrm.vma = mm.mm_mt.lookup(vrm.addr)
                res = self.check_prep_vma(vrm)
                if not res:
                    res = self.mremap_to(vrm) if vrm.implies_new_addr() else self.mremap_at(vrm)
        finally:
            self.mmap_write_unlock(mm)
        # The VMA was mlock()'d and expanded: populate the expanded region.
        if res >= 0 and vrm.populate_expand:
            self._mm_populate(vrm.new_addr + vrm.old_len, vrm.delta, 1)
        return res

    def check_mremap_params(self, vrm: vma_remap_struct) -> int:
        flags = vrm.flags
        if flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP):
            return -EINVAL
        if offset_in_page(vrm.addr):
            return -EINVAL
        if not vrm.new_len or vrm.new_len > TASK_SIZE:
            return -EINVAL
        if not vrm.implies_new_addr():
            return 0
        if vrm.new_addr > TASK_SIZE - vrm.new_len or offset_in_page(vrm.new_addr):
            return -EINVAL
        if not flags & MREMAP_MAYMOVE:
            return -EINVAL
        if flags & MREMAP_DONTUNMAP and vrm.old_len != vrm.new_len:
            return -EINVAL
        if vrm.overlaps():
            return -EINVAL
        if self.current.mm.map_count + 2 >= self.sysctl_max_map_count - 3:
            return -ENOMEM
        return 0

    def check_prep_vma(self, vrm: vma_remap_struct) -> int:
        vma = vrm.vma
        if vma is None:
            return -EFAULT
        # If mseal()'d, mremap() is prohibited.
        if vma_is_sealed(vma):
            return -EPERM
        if vrm.old_len > vrm.new_len:
            vrm.delta, vrm.remap_type = vrm.old_len - vrm.new_len, MREMAP_SHRINK
        elif vrm.old_len < vrm.new_len:
            vrm.delta, vrm.remap_type = vrm.new_len - vrm.old_len, MREMAP_EXPAND
        else:
            vrm.delta, vrm.remap_type = 0, MREMAP_NO_RESIZE
        if not vrm.implies_new_addr():
            vrm.new_addr = vrm.addr
        # An in-place shrink or a no-op maps nothing new: no more checks.
        if vrm.remap_type != MREMAP_EXPAND and not vrm.implies_new_addr():
            return 0
        old_len = vrm.old_len
        if not old_len:
            return -EINVAL      # duplicating a private mapping is not supported
        if vrm.remap_type == MREMAP_SHRINK:
            old_len = vrm.new_len
        if old_len > vma.vm_end - vrm.addr:
            return -EFAULT
        if vrm.remap_type == MREMAP_EXPAND and vma.vm_flags & VM_LOCKED:
            vrm.populate_expand = True
        return 0

    def remap_move(self, vrm: vma_remap_struct) -> int:
        """MREMAP_FIXED without resizing: move every VMA of the range, keeping
        the holes between them."""
        mm = self.current.mm
        start, end = vrm.addr, vrm.addr + vrm.old_len
        target_addr = vrm.new_addr
        res = -EFAULT
        seen_vma = False
        last_end = 0
        vma = mm.mm_mt.find(start)
        while vma is not None and vma.vm_start < end:
            if not seen_vma and start < vma.vm_start:
                return -EFAULT
            # vma_multi_allowed(): a userfaultfd-armed VMA moves alone (the
            # notification would drop the mmap lock in the middle)
            if vma.vm_flags & _VM_UFFD_FLAGS and (seen_vma or vma.vm_end < end):
                return -EFAULT
            addr = max(vma.vm_start, start)
            length = min(end, vma.vm_end) - addr
            offset = vma.vm_start - last_end if seen_vma else 0
            last_end = vma.vm_end
            vrm.vma = vma
            vrm.addr = addr
            vrm.new_addr = target_addr + offset
            vrm.old_len = vrm.new_len = length
            res_vma = self.check_prep_vma(vrm) or self.mremap_to(vrm)
            if res_vma < 0:
                return res_vma
            if not seen_vma:
                res = res_vma
            seen_vma = True
            target_addr = res_vma + vrm.new_len
            # The iterator goes on after the VMA as it was found: a VMA that
            # is still there (MREMAP_DONTUNMAP) or grew (a merge) is not
            # visited twice, and the walk ends once that end passes the range.
            if last_end >= end:
                break
            vma = mm.mm_mt.find(last_end)
        return res

    def mremap_at(self, vrm: vma_remap_struct) -> int:
        if vrm.remap_type == MREMAP_NO_RESIZE:
            return vrm.addr
        if vrm.remap_type == MREMAP_SHRINK:
            res = self.shrink_vma(vrm)
            return res if res else vrm.addr
        return self.expand_vma(vrm)

    def shrink_vma(self, vrm: vma_remap_struct) -> int:
        mm = self.current.mm
        res = self.do_vmi_munmap(mm, vrm.addr + vrm.new_len, vrm.delta)
        if res:
            return res
        vrm.vma = mm.mm_mt.lookup(vrm.addr)
        return 0

    def vma_expandable(self, vma, delta: int) -> bool:
        end = vma.vm_end + delta
        other = vma.vm_mm.mm_mt.find(vma.vm_end)
        if other is not None and other.vm_start < end:
            return False
        return end <= TASK_SIZE

    def expand_vma(self, vrm: vma_remap_struct) -> int:
        vma = vrm.vma
        if vma.vm_end - vrm.addr == vrm.old_len and self.vma_expandable(vma, vrm.delta):
            # Grows the same VMA, swallowing the next one if they now touch
            # and are compatible.
            if self.vma_merge_extend(vma, vrm.delta) is None:
                return -ENOMEM
            return vrm.addr
        # Moving it needs MREMAP_MAYMOVE and a free area; the model has no
        # get_unmapped_area() and maps at fixed addresses only, as scenarios do.
        return -ENOMEM

    def mremap_to(self, vrm: vma_remap_struct) -> int:
        mm = self.current.mm
        if vrm.flags & MREMAP_FIXED:
            # The destination goes first, whatever happens next.
            err = self.do_vmi_munmap(mm, vrm.new_addr, vrm.new_len)
            if err:
                return err
            vrm.vma = mm.mm_mt.lookup(vrm.addr)
            if vrm.vma is None:
                return -EFAULT
        if vrm.remap_type == MREMAP_SHRINK:
            err = self.shrink_vma(vrm)
            if err:
                return err
            if vrm.vma is None:
                return -EFAULT
            vrm.old_len = vrm.new_len
        return self.move_vma(vrm)

    def move_vma(self, vrm: vma_remap_struct) -> int:
        mm = self.current.mm
        if mm.map_count >= self.sysctl_max_map_count - 3:
            return -ENOMEM
        self.vma_start_write(vrm.vma)
        err, new_vma = self.copy_vma_and_data(vrm)
        if err and new_vma is None:
            return err
        if not err and vrm.flags & MREMAP_DONTUNMAP:
            self.dontunmap_complete(vrm, new_vma)
        else:
            self.unmap_source_vma(vrm)
        return err if err else vrm.new_addr

    def copy_vma_and_data(self, vrm: vma_remap_struct):
        vma = vrm.vma
        new_pgoff = vma.vm_pgoff + ((vrm.addr - vma.vm_start) >> PAGE_SHIFT)
        new_vma, vma, need_rmap_locks = self.copy_vma(vma, vrm.new_addr, vrm.new_len, new_pgoff)
        if new_vma is None:
            return -ENOMEM, None
        vrm.vma = vma
        self.move_page_tables(vma, vrm.addr, new_vma, vrm.new_addr, vrm.old_len, need_rmap_locks)
        self.mremap_userfaultfd_prep(new_vma)
        return 0, new_vma

    def move_page_tables(self, vma, old_addr: int, new_vma, new_addr: int, length: int,
                         need_rmap_locks: bool) -> None:
        """Move the PTEs; the folios keep their anon_vma and index."""
        if need_rmap_locks and vma.anon_vma is not None:
            self.anon_vma_lock_write(vma.anon_vma)
        pgd = vma.vm_mm.pgd
        shift = (new_addr - old_addr) >> PAGE_SHIFT
        for vpn, pte in pte_range(vma.vm_mm, old_addr, old_addr + length):
            del pgd[vpn]
            pgd[vpn + shift] = pte
        if need_rmap_locks and vma.anon_vma is not None:
            self.anon_vma_unlock_write(vma.anon_vma)

    def dontunmap_complete(self, vrm: vma_remap_struct, new_vma) -> None:
        vma = vrm.vma
        vma.vm_flags &= ~VM_LOCKED_MASK
        # The old VMA's anon_vma links are of no use once all of its page
        # tables have moved.
        if (new_vma is not vma and vrm.addr == vma.vm_start
                and vrm.addr + vrm.old_len == vma.vm_end):
            self.unlink_anon_vmas(vma)

    def unmap_source_vma(self, vrm: vma_remap_struct) -> None:
        """Unmap the source range.  VM_ACCOUNT comes off the source first so
        the unmap does not unaccount pages that moved, and goes back on the
        pieces of the source that stay."""
        mm = self.current.mm
        addr, length, vma = vrm.addr, vrm.old_len, vrm.vma
        accountable_move = vma.vm_flags & VM_ACCOUNT and not vrm.flags & MREMAP_DONTUNMAP
        if accountable_move:
            vma.vm_flags &= ~VM_ACCOUNT
            vm_start, vm_end = vma.vm_start, vma.vm_end
        if self.do_vmi_munmap(mm, addr, length):
            return
        if accountable_move:
            end = addr + length
            if vm_start < addr:
                mm.mm_mt.prev_of_addr(addr).vm_flags |= VM_ACCOUNT
            if vm_end > end:
                mm.mm_mt.find(end).vm_flags |= VM_ACCOUNT
