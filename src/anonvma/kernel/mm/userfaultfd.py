"""mm/userfaultfd.c (Linux 6.18): registering VMAs, and UFFDIO_MOVE.

``move_pages`` moves anonymous pages between VMAs of one mm without
copying them: the destination VMA gets its anon_vma first (before anything
is checked, as uffd_lock_vma() prepares it), then page by page the source
PTE goes to the destination, and a present folio is re-targeted at the
destination's anon_vma (folio_move_anon_rmap) and index, under the write
lock of its old anon_vma, which a reference pins meanwhile.  A folio shared
with a fork relative is EBUSY; the destination must be empty (EEXIST), the
source present unless UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES (ENOENT).  The
model maps order-0 folios only, so no huge PMD is moved or split.
"""

from __future__ import annotations

from ..fs.userfaultfd import UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES
from ..include.errno import EAGAIN, EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM
from ..include.mm import (
    PAGE_SHIFT, PAGE_SIZE, VM_ACCESS_FLAGS, VM_HUGETLB, VM_LOCKED, VM_SHARED, VM_UFFD_MISSING,
    VM_WRITE, _VM_UFFD_FLAGS, linear_page_index,
)
from ..kernel.locking.spinlock import spin_lock, spin_unlock
from .mm_types import pte_t, swp_pte_t


class UserfaultfdMm:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def userfaultfd_register_range(self, ctx, vma, vm_flags: int, start: int, end: int) -> int:
        mm = ctx.mm
        prev = mm.mm_mt.prev(vma)
        if vma.vm_start < start:
            prev = vma
        while vma is not None and vma.vm_start < end:
            # nothing to do where it is registered in this mode already
            if (vma.vm_flags & vm_flags) != vm_flags:
                start = max(start, vma.vm_start)
                new_flags = (vma.vm_flags & ~_VM_UFFD_FLAGS) | vm_flags
                vma = self.vma_modify_flags(prev, vma, start, min(end, vma.vm_end), new_flags)
                if isinstance(vma, int):
                    return vma
                self.vma_start_write(vma)
                vma.vm_flags = new_flags        # userfaultfd_set_ctx()
            prev = vma
            start = vma.vm_end
            vma = mm.mm_mt.find(vma.vm_end)
        return 0

    def find_vma_and_prepare_anon(self, mm, addr: int):
        """The VMA at ``addr`` with an anon_vma, or -ENOENT/-ENOMEM."""
        vma = mm.mm_mt.lookup(addr)
        if vma is None:
            return -ENOENT
        if not vma.vm_flags & VM_SHARED and self.anon_vma_prepare(vma):
            return -ENOMEM
        return vma

    def validate_move_areas(self, src_vma, dst_vma) -> int:
        """Same access, both mlock()ed or neither, writable, no special
        mappings, the destination registered with this userfaultfd."""
        if (src_vma.vm_flags ^ dst_vma.vm_flags) & (VM_ACCESS_FLAGS | VM_LOCKED):
            return -EINVAL
        if not src_vma.vm_flags & VM_WRITE:
            return -EINVAL
        if (src_vma.vm_flags | dst_vma.vm_flags) & VM_HUGETLB:
            return -EINVAL
        if not dst_vma.vm_flags & VM_UFFD_MISSING:
            return -EINVAL
        return 0

    def move_pages(self, ctx, dst_start: int, src_start: int, length: int, mode: int) -> int:
        """The bytes moved, or -errno if none were."""
        mm = ctx.mm
        moved = 0
        # uffd_move_lock(): per-VMA read locks, taken under the mmap read
        # lock when the destination still needs its anon_vma
        self.mmap_read_lock(mm)
        try:
            dst_vma = self.find_vma_and_prepare_anon(mm, dst_start)
            if isinstance(dst_vma, int):
                return dst_vma
            if dst_vma.vm_start <= src_start < dst_vma.vm_end:
                src_vma = dst_vma
            else:
                src_vma = mm.mm_mt.lookup(src_start)
                if src_vma is None:
                    return -ENOENT
            if (src_vma.vm_flags | dst_vma.vm_flags) & VM_SHARED \
                    or src_start + length > src_vma.vm_end \
                    or dst_start + length > dst_vma.vm_end:
                return -EINVAL
            err = self.validate_move_areas(src_vma, dst_vma)
            if err:
                return err
            while moved < length:
                err = self.move_pages_pte(mm, dst_vma, src_vma, dst_start + moved,
                                          src_start + moved, mode)
                self.cond_resched()
                if err == -EAGAIN:
                    continue        # raced with the folio's unmapping: again
                if err:
                    break
                moved += PAGE_SIZE
        finally:
            self.mmap_read_unlock(mm)
        return moved or err

    def move_pages_pte(self, mm, dst_vma, src_vma, dst_addr: int, src_addr: int,
                       mode: int) -> int:
        """move_pages_ptes(), one page: 0 or -errno."""
        pgd = mm.pgd
        dst_vpn, src_vpn = dst_addr >> PAGE_SHIFT, src_addr >> PAGE_SHIFT
        if dst_vpn in pgd:
            return -EEXIST
        orig_src_pte = pgd.get(src_vpn)
        if orig_src_pte is None:
            return 0 if mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES else -ENOENT
        if orig_src_pte.marker:
            return -EFAULT          # a non-swap entry that is no migration entry
        if not orig_src_pte.present:
            return self.move_swap_pte(mm, dst_vpn, src_vpn, orig_src_pte)
        folio = orig_src_pte.folio
        if folio is self.zero_folio:
            # move_zeropage_pte()
            spin_lock(mm.page_table_lock)
            del pgd[src_vpn]
            pgd[dst_vpn] = pte_t(folio, False)
            spin_unlock(mm.page_table_lock)
            return 0
        if not folio.anon_exclusive:
            return -EBUSY
        if not self.folio_trylock(folio):
            return -EAGAIN          # the kernel sleeps in folio_lock(), then retries
        self.folio_get(folio)
        src_anon_vma = self.folio_get_anon_vma(folio)
        if src_anon_vma is None:
            self.folio_unlock(folio)
            self.folio_put(folio)
            return -EAGAIN
        self.anon_vma_lock_write(src_anon_vma)
        try:
            self.move_present_pte(mm, dst_vma, dst_addr, src_vpn, folio)
        finally:
            self.anon_vma_unlock_write(src_anon_vma)
            self.put_anon_vma(src_anon_vma)
            self.folio_unlock(folio)
            self.folio_put(folio)
        return 0

    def move_present_pte(self, mm, dst_vma, dst_addr: int, src_vpn: int, folio) -> None:
        """The folio now belongs to the destination: its anon_vma and index
        follow, and the new PTE is writable and keeps the dirty bit."""
        pgd = mm.pgd
        spin_lock(mm.page_table_lock)
        orig_src_pte = pgd.pop(src_vpn)
        self.folio_move_anon_rmap(folio, dst_vma)
        folio.index = linear_page_index(dst_vma, dst_addr)
        pte = pgd[dst_addr >> PAGE_SHIFT] = pte_t(folio, True)
        pte.dirty = orig_src_pte.dirty
        spin_unlock(mm.page_table_lock)

    def move_swap_pte(self, mm, dst_vpn: int, src_vpn: int, entry: swp_pte_t) -> int:
        """A swapped-out page moves as its swap PTE, if it was exclusive; a
        folio of it still in the swap cache follows its anon_vma too."""
        if not entry.exclusive:
            return -EBUSY
        folio = self.swap_cache_get_folio(entry)
        if folio is not None:
            # a swap-in may hit the swap cache after the move: the cached
            # folio's mapping and index must be the destination's
            if not self.folio_trylock(folio):
                return -EAGAIN
            dst_vma = mm.mm_mt.lookup(dst_vpn << PAGE_SHIFT)
            self.folio_move_anon_rmap(folio, dst_vma)
            folio.index = linear_page_index(dst_vma, dst_vpn << PAGE_SHIFT)
            self.folio_unlock(folio)
        spin_lock(mm.page_table_lock)
        mm.pgd[dst_vpn] = mm.pgd.pop(src_vpn)
        spin_unlock(mm.page_table_lock)
        return 0
