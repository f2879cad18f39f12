"""mm/memory.c (Linux 6.18): page faults, fork's page table copy, zapping,
and ``free_pgtables``, where unmapped VMAs leave the reverse map.

Page tables are one dict per mm (``mm.pgd``: virtual page number -> pte);
a present PTE is a ``pte_t``, the shared zero page is ``self.zero_folio``.
Every mapping of a folio holds one reference on it, as in the kernel, so
``_refcount == _mapcount + 1`` for a mapped folio that nothing else pins.
"""

from __future__ import annotations

from ..include.gfp import GFP_HIGHUSER_MOVABLE
from ..kernel.locking.spinlock import spin_lock, spin_unlock
from ..include.mm import PAGE_SHIFT, PAGE_SIZE, VM_UFFD_MISSING, VM_WRITE
from .mm_types import PTE_MARKER_GUARD, pte_marker, pte_t, swp_pte_t

# vm_fault_t (include/linux/mm_types.h)
VM_FAULT_OOM = 0x000001
VM_FAULT_SIGBUS = 0x000002
VM_FAULT_SIGSEGV = 0x000040


def pte_range(mm, start: int, end: int):
    """The (vpn, pte) pairs of [start, end), walking whichever is smaller:
    the range or the populated page table.  A caller may change the page
    table while it walks them."""
    if end - start == PAGE_SIZE:
        # The most common range, one page, without building a list.
        first = start >> PAGE_SHIFT
        pte = mm.pgd.get(first)
        return () if pte is None else ((first, pte),)
    first, last = start >> PAGE_SHIFT, end >> PAGE_SHIFT
    pgd = mm.pgd
    if last - first <= len(pgd):
        return [(vpn, pgd[vpn]) for vpn in range(first, last) if vpn in pgd]
    return sorted((vpn, pte) for vpn, pte in pgd.items() if first <= vpn < last)


class vm_fault:
    """struct vm_fault: what one fault is about."""

    __slots__ = ("vma", "address", "write", "orig_pte")

    def __init__(self, vma, address: int, write: bool, orig_pte):
        self.vma = vma
        self.address = address
        self.write = write
        self.orig_pte = orig_pte


class Memory:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    # -- faults ---------------------------------------------------------------------

    def handle_mm_fault(self, vma, address: int, write: bool) -> int:
        vmf = vm_fault(vma, address & ~((1 << PAGE_SHIFT) - 1), write,
                       vma.vm_mm.pgd.get(address >> PAGE_SHIFT))
        return self.handle_pte_fault(vmf)

    def handle_pte_fault(self, vmf: vm_fault) -> int:
        pte = vmf.orig_pte
        if pte is None:
            return self.do_anonymous_page(vmf)
        if pte.marker:
            return self.handle_pte_marker(vmf)
        if not pte.present:
            return self.do_swap_page(vmf)
        if vmf.write and not pte.write:
            return self.do_wp_page(vmf)
        return 0

    def handle_userfault(self, vmf: vm_fault) -> int:
        """fs/userfaultfd.c: a missing page of a registered VMA.  The
        scenario's userfaultfd has UFFD_FEATURE_SIGBUS (nobody would ever
        resolve the fault): SIGBUS instead of waiting."""
        return VM_FAULT_SIGBUS

    def handle_pte_marker(self, vmf: vm_fault) -> int:
        """Hitting a guard page is always a fatal condition."""
        assert vmf.orig_pte.marker & PTE_MARKER_GUARD
        return VM_FAULT_SIGSEGV

    def vmf_anon_prepare(self, vmf: vm_fault) -> int:
        """__vmf_anon_prepare(): the VMA needs an anon_vma before it can map
        a page of its own."""
        if vmf.vma.anon_vma is not None:
            return 0
        if self._anon_vma_prepare(vmf.vma):
            return VM_FAULT_OOM
        return 0

    def do_anonymous_page(self, vmf: vm_fault) -> int:
        vma = vmf.vma
        mm = vma.vm_mm
        vpn = vmf.address >> PAGE_SHIFT
        # Reads map the shared zero page: no anon_vma, no folio.
        if not vmf.write:
            if vma.vm_flags & VM_UFFD_MISSING:
                return self.handle_userfault(vmf)
            mm.pgd[vpn] = pte_t(self.zero_folio, False)
            return 0
        ret = self.vmf_anon_prepare(vmf)
        if ret:
            return ret
        folio = self.folio_alloc(GFP_HIGHUSER_MOVABLE)
        if folio is None:
            return VM_FAULT_OOM
        # A write asks the userfaultfd only now: the anon_vma is there.
        if vma.vm_flags & VM_UFFD_MISSING:
            self.folio_put(folio)
            return self.handle_userfault(vmf)
        spin_lock(mm.page_table_lock)
        # Another thread faulted this page in while we allocated: use its.
        if vpn in mm.pgd:
            spin_unlock(mm.page_table_lock)
            self.folio_put(folio)
            return 0
        self.folio_add_new_anon_rmap(folio, vma, vmf.address, True)
        self.folio_add_lru(folio)
        mm.pgd[vpn] = pte_t(folio, bool(vma.vm_flags & VM_WRITE))
        spin_unlock(mm.page_table_lock)
        return 0

    def do_wp_page(self, vmf: vm_fault) -> int:
        """A write to a present, write-protected PTE: reuse the page if this
        mapping is its only user, copy it otherwise."""
        folio = vmf.orig_pte.folio
        if folio is self.zero_folio:
            return self.wp_page_copy(vmf, None)
        if folio.anon_exclusive or self.wp_can_reuse_anon_folio(folio, vmf.vma):
            folio.anon_exclusive = True
            self.wp_page_reuse(vmf)
            return 0
        self.folio_get(folio)
        return self.wp_page_copy(vmf, folio)

    def wp_can_reuse_anon_folio(self, folio, vma) -> bool:
        """Small folios: reuse iff ours is the only reference, once the swap
        cache has let go of its own (refcount-based since 5.9, not
        mapcount-based as in 3.0)."""
        swapcache = folio.swap is not None
        if folio._refcount > 1 + swapcache:
            return False
        if not self.folio_trylock(folio):
            return False
        if swapcache:
            self.folio_free_swap(folio)
        if folio._refcount != 1:
            self.folio_unlock(folio)
            return False
        # We hold the only reference and the folio lock: the folio is ours.
        self.folio_move_anon_rmap(folio, vma)
        self.folio_unlock(folio)
        return True

    def wp_page_reuse(self, vmf: vm_fault) -> None:
        vmf.orig_pte.write = True
        vmf.orig_pte.dirty = True

    def wp_page_copy(self, vmf: vm_fault, old_folio) -> int:
        vma = vmf.vma
        ret = self.vmf_anon_prepare(vmf)
        if ret:
            if old_folio is not None:
                self.folio_put(old_folio)
            return ret
        new_folio = self.folio_alloc(GFP_HIGHUSER_MOVABLE)
        if new_folio is None:
            if old_folio is not None:
                self.folio_put(old_folio)
            return VM_FAULT_OOM
        vpn = vmf.address >> PAGE_SHIFT
        mm = vma.vm_mm
        spin_lock(mm.page_table_lock)
        # The PTE changed while we allocated (zapped, or copied by another
        # thread): leave it, and let the access fault again if need be.
        if mm.pgd.get(vpn) is not vmf.orig_pte:
            spin_unlock(mm.page_table_lock)
            self.folio_put(new_folio)
            if old_folio is not None:
                self.folio_put(old_folio)
            return 0
        self.folio_add_new_anon_rmap(new_folio, vma, vmf.address, True)
        self.folio_add_lru(new_folio)
        mm.pgd[vpn] = pte_t(new_folio, bool(vma.vm_flags & VM_WRITE))
        if old_folio is not None:
            # The old page loses this mapping only after the PTE switch.
            self.folio_remove_rmap_pte(old_folio, vma)
            self.folio_put(old_folio)      # the mapping's reference
        spin_unlock(mm.page_table_lock)
        if old_folio is not None:
            self.folio_put(old_folio)      # do_wp_page()'s folio_get()
        return 0

    def do_swap_page(self, vmf: vm_fault) -> int:
        """Bring a swapped-out page back: from the swap cache if another
        process sharing the slot already did, else read into a new folio,
        which goes to this VMA's own anon_vma if the page was exclusive and
        to the root otherwise (``folio_add_new_anon_rmap``)."""
        vma = vmf.vma
        mm = vma.vm_mm
        entry = vmf.orig_pte
        vpn = vmf.address >> PAGE_SHIFT
        folio = self.swap_cache_get_folio(entry)
        if folio is not None:
            self.folio_get(folio)
        else:
            folio = self.folio_alloc(GFP_HIGHUSER_MOVABLE)
            if folio is None:
                return VM_FAULT_OOM
            # The allocation may have slept: a fault of another process may
            # have read the slot in meanwhile (swapcache_prepare() lets one
            # of them add it to the swap cache), or the slot been freed.
            cached = self.swap_cache_get_folio(entry)
            if cached is not None:
                self.folio_put(folio)
                folio = cached
                self.folio_get(folio)
            elif entry.offset not in self.swap_info.swap_map:
                self.folio_put(folio)
                return 0                # the PTE is gone too: fault again
            else:
                self.add_to_swap_cache(folio, entry)
                self.folio_add_lru(folio)
        spin_lock(mm.page_table_lock)
        if mm.pgd.get(vpn) is not entry:
            # someone else faulted it in, or zapped it, meanwhile
            spin_unlock(mm.page_table_lock)
            self.folio_put(folio)
            self.free_swap_cache(folio)
            return 0
        exclusive = entry.exclusive
        self.swap_free(entry)
        # The slot is of no more use once no swap PTE points at it; then the
        # only reference left may be ours, which makes the page ours alone.
        # (The kernel holds the folio lock through do_swap_page(); here it
        # is taken for this, and one that reclaim holds keeps its slot.)
        if self.folio_trylock(folio):
            self.folio_free_swap(folio)
            self.folio_unlock(folio)
        if folio._refcount == 1:
            exclusive = True
        if folio.mapping is not None:
            self.folio_add_anon_rmap_pte(folio, vma, vmf.address)
            folio.anon_exclusive = folio.anon_exclusive or exclusive
        else:
            self.folio_add_new_anon_rmap(folio, vma, vmf.address, exclusive)
        mm.pgd[vpn] = pte_t(folio, exclusive and bool(vma.vm_flags & VM_WRITE))
        spin_unlock(mm.page_table_lock)
        return 0

    # -- fork ---------------------------------------------------------------------------

    def vma_needs_copy(self, dst_vma, src_vma) -> bool:
        # Without an anon_vma there is nothing a fault could not bring back.
        return src_vma.anon_vma is not None

    def copy_page_range(self, dst_vma, src_vma) -> int:
        """Share every mapped page of ``src_vma`` with the child, write
        protecting both sides so the first write copies (COW)."""
        if not self.vma_needs_copy(dst_vma, src_vma):
            return 0
        dst_pgd = dst_vma.vm_mm.pgd
        for vpn, pte in pte_range(src_vma.vm_mm, src_vma.vm_start, src_vma.vm_end):
            if not pte.present:
                if pte.marker:
                    # copy_pte_marker(): a guard marker always goes with the child
                    dst_pgd[vpn] = pte_marker(pte.marker)
                    continue
                # copy_nonpresent_pte(): both now share the slot, neither
                # owns the page exclusively
                self.swap_duplicate(pte)
                pte.exclusive = False
                dst_pgd[vpn] = swp_pte_t(pte.offset, False)
                continue
            folio = pte.folio
            if folio is not self.zero_folio:
                self.folio_get(folio)
                self.folio_try_dup_anon_rmap_pte(folio, src_vma)
            pte.write = False               # ptep_set_wrprotect() in the parent
            dst_pgd[vpn] = child = pte_t(folio, False)
            child.dirty = pte.dirty
        return 0

    # -- unmapping ------------------------------------------------------------------------

    def zap_pte_range(self, vma, start: int, end: int, drop_markers: bool = False) -> None:
        """Zap the range's pages and swap entries.  Guard markers stay
        unless ``drop_markers`` (ZAP_FLAG_DROP_MARKER: unmapping, exit)."""
        mm = vma.vm_mm
        pgd = mm.pgd
        spin_lock(mm.page_table_lock)
        for vpn, pte in pte_range(mm, start, end):
            if not pte.present:
                if pte.marker:
                    if drop_markers:
                        del pgd[vpn]
                    continue
                del pgd[vpn]
                self.free_swap_and_cache(pte)
                continue
            del pgd[vpn]
            folio = pte.folio
            if folio is self.zero_folio:
                continue
            self.folio_remove_rmap_pte(folio, vma)
            # free_pages_and_swap_cache(): an unmapped folio that no swap
            # PTE needs leaves the swap cache with its last mapping
            self.free_swap_cache(folio)
            self.folio_put(folio)
        spin_unlock(mm.page_table_lock)

    def unmap_vmas(self, vmas) -> None:
        """Zap every page of ``vmas``; their anon_vmas stay linked."""
        for vma in vmas:
            # drop_markers passed by position: a call with keywords is not
            # specialised by CPython, and this one is made for every VMA
            self.zap_pte_range(vma, vma.vm_start, vma.vm_end, True)

    def free_pgtables(self, vmas) -> None:
        """Hide each VMA from rmap before its page tables go, in address order."""
        for vma in vmas:
            self.vma_start_write(vma)
            self.unlink_anon_vmas(vma)
