"""mm/madvise.c (Linux 6.18): the advice a scenario can give.

DONTFORK/DOFORK/WIPEONFORK/KEEPONFORK and HUGEPAGE/NOHUGEPAGE change
vm_flags (and so split and merge VMAs, cloning and unlinking anon_vma
chains), under the mmap lock for write; DONTNEED zaps pages and keeps the
anon_vma; FREE marks a range's exclusive pages lazyfree (reclaim discards
them unless written since); COLD deactivates them and PAGEOUT reclaims them
now, both through the reverse map; POPULATE_READ/WRITE fault the range in
(mm/gup.c); GUARD_INSTALL gives the VMA an anon_vma (so that fork copies the
markers) and puts a guard marker in every PTE of the range, zapping what was
mapped; GUARD_REMOVE takes the markers out; COLLAPSE (mm/khugepaged.c)
refuses a VMA that holds no whole aligned PMD.  prctl(PR_SET_VMA_ANON_NAME)
names VMAs through the same walk.  Holes in the range are skipped and
reported as -ENOMEM at the end (POPULATE stops at the first).

process_madvise() applies one advice to another process's mm: only COLD,
PAGEOUT, WILLNEED and COLLAPSE may reach a remote mm.

Huge pages are not modelled: COLLAPSE of a VMA that holds a whole aligned
PMD returns what a successful collapse returns and leaves the pages as they
are, which no trace of the reverse map can tell apart.
"""

from __future__ import annotations

from ..include.errno import EAGAIN, EINVAL, ENOMEM, EPERM, ESRCH
from ..include.mm import (
    MADV_COLD, MADV_COLLAPSE, MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_FREE,
    MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_HUGEPAGE, MADV_KEEPONFORK, MADV_NOHUGEPAGE,
    MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_WIPEONFORK, PAGE_ALIGN,
    PAGE_MASK, PAGE_SHIFT, PMD_SIZE, VM_DONTCOPY, VM_HUGEPAGE, VM_HUGETLB, VM_LOCKED, VM_NOHUGEPAGE,
    VM_SHARED, VM_WIPEONFORK, VM_WRITE, vma_is_sealed,
)
from .memory import pte_range
from .mm_types import PTE_MARKER_GUARD, pte_marker

# get_lock_mode(): vm_flags change under the mmap write lock, the rest read it
_WRITE_BEHAVIORS = (MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
                    MADV_HUGEPAGE, MADV_NOHUGEPAGE)
_BEHAVIORS = _WRITE_BEHAVIORS + (
    MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
    MADV_COLLAPSE, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE)
_MADV_SET_ANON_VMA_NAME = -1    # __MADV_SET_ANON_VMA_NAME: prctl's, not madvise()'s
# is_discard(): the advice a sealed read-only anonymous VMA refuses
_DISCARD = (MADV_DONTNEED, MADV_FREE, MADV_DONTFORK, MADV_WIPEONFORK, MADV_GUARD_INSTALL)
# process_madvise_remote_valid() (MADV_WILLNEED has nothing to read in here)
_REMOTE_BEHAVIORS = (MADV_COLD, MADV_PAGEOUT, MADV_COLLAPSE)


class Madvise:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def sys_madvise(self, start: int, len_in: int, behavior: int) -> int:
        return self.do_madvise(self.current.mm, start, len_in, behavior)

    def madvise_should_skip(self, start: int, len_in: int, behavior: int):
        """(skip, error): an invalid request is -EINVAL, an empty one 0."""
        if behavior not in _BEHAVIORS or start & ~PAGE_MASK:
            return True, -EINVAL
        length = PAGE_ALIGN(len_in)
        if (len_in and not length) or start + length < start:
            return True, -EINVAL
        return start + length == start, 0

    def do_madvise(self, mm, start: int, len_in: int, behavior: int) -> int:
        skip, error = self.madvise_should_skip(start, len_in, behavior)
        if skip:
            return error
        self.madvise_lock(mm, behavior)
        try:
            return self.madvise_do_behavior(mm, start, len_in, behavior)
        finally:
            self.madvise_unlock(mm, behavior)

    def madvise_lock(self, mm, behavior: int) -> None:
        if behavior in _WRITE_BEHAVIORS:
            self.mmap_write_lock(mm)
        else:
            self.mmap_read_lock(mm)

    def madvise_unlock(self, mm, behavior: int) -> None:
        if behavior in _WRITE_BEHAVIORS:
            self.mmap_write_unlock(mm)
        else:
            self.mmap_read_unlock(mm)

    def madvise_do_behavior(self, mm, start: int, len_in: int, behavior: int) -> int:
        end = start + PAGE_ALIGN(len_in)
        if behavior in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
            return self.madvise_populate(mm, start, end, behavior)
        return self.madvise_walk_vmas(mm, start, end, behavior)

    def sys_process_madvise(self, task, start: int, len_in: int, behavior: int) -> int:
        """process_madvise(pidfd of ``task``, one iovec, behavior, 0): the
        bytes advised, or -errno.  ``task`` is what pidfd_get_task() found
        (None: no such process); mm_access() needs it to have an mm."""
        if task is None or task.mm is None:
            return -ESRCH
        mm = task.mm
        if mm is not self.current.mm and behavior not in _REMOTE_BEHAVIORS:
            return -EINVAL
        return self.vector_madvise(mm, [(start, len_in)], behavior)

    def vector_madvise(self, mm, iovecs, behavior: int) -> int:
        """Every range under one lock; stops at the first error, and answers
        with the bytes done if any range was done."""
        total_len = sum(length for _start, length in iovecs)
        done = 0
        ret = 0
        self.madvise_lock(mm, behavior)
        try:
            for start, len_in in iovecs:
                skip, ret = self.madvise_should_skip(start, len_in, behavior)
                if not skip:
                    ret = self.madvise_do_behavior(mm, start, len_in, behavior)
                if ret < 0:
                    break
                done += len_in
        finally:
            self.madvise_unlock(mm, behavior)
        return (done or ret) if done < total_len else total_len

    def madvise_set_anon_name(self, mm, start: int, len_in: int, anon_name) -> int:
        """prctl(PR_SET_VMA_ANON_NAME)'s walk, under the mmap write lock:
        name (or, with None, unname) every VMA of the range."""
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
        return self.madvise_walk_vmas(mm, start, end, _MADV_SET_ANON_VMA_NAME, anon_name)

    def madvise_walk_vmas(self, mm, start: int, last_end: int, behavior: int,
                          anon_name=None) -> int:
        unmapped_error = 0
        vma = mm.mm_mt.find(start)
        prev = mm.mm_mt.prev(vma) if vma is not None else None
        if vma is not None and start > vma.vm_start:
            prev = vma
        while True:
            if vma is None:
                return -ENOMEM
            if start < vma.vm_start:
                # A gap does not stop the walk; it is reported at the end.
                unmapped_error = -ENOMEM
                start = vma.vm_start
                if start >= last_end:
                    break
            end = min(vma.vm_end, last_end)
            error, vma = self.madvise_vma_behavior(vma, prev, start, end, behavior, anon_name)
            if error:
                return error
            prev = vma
            if end < vma.vm_end:
                end = vma.vm_end
            if end >= last_end:
                break
            vma = mm.mm_mt.find(vma.vm_end)
            start = end
        return unmapped_error

    def madvise_vma_behavior(self, vma, prev, start: int, end: int, behavior: int,
                             anon_name=None):
        """Returns (error, the VMA now covering the range)."""
        if not self.can_madvise_modify(vma, behavior):
            return -EPERM, vma
        if behavior == _MADV_SET_ANON_VMA_NAME:
            error, vma = self.madvise_update_vma(vma, prev, start, end, vma.vm_flags,
                                                 True, anon_name)
            return (-EAGAIN if error == -ENOMEM else error), vma
        if behavior in (MADV_COLD, MADV_PAGEOUT):
            if not self.can_madv_lru_vma(vma):
                return -EINVAL, vma
            self.madvise_cold_or_pageout_pte_range(vma, start, end, behavior == MADV_PAGEOUT)
            return 0, vma
        if behavior in (MADV_DONTNEED, MADV_FREE):
            # madvise_dontneed_free_valid_vma()
            if vma.vm_flags & VM_LOCKED:
                return -EINVAL, vma
            if behavior == MADV_DONTNEED:
                self.zap_pte_range(vma, start, end)
            else:
                self.madvise_free_pte_range(vma, start, end)
            return 0, vma
        if behavior == MADV_COLLAPSE:
            return self.madvise_collapse(vma, start, end), vma
        if behavior == MADV_GUARD_INSTALL:
            return self.madvise_guard_install(vma, start, end), vma
        if behavior == MADV_GUARD_REMOVE:
            return self.madvise_guard_remove(vma, start, end), vma
        new_flags = vma.vm_flags
        if behavior == MADV_DONTFORK:
            new_flags |= VM_DONTCOPY
        elif behavior == MADV_DOFORK:
            new_flags &= ~VM_DONTCOPY
        elif behavior == MADV_WIPEONFORK:
            # only anonymous private memory can be wiped
            if new_flags & VM_SHARED:
                return -EINVAL, vma
            new_flags |= VM_WIPEONFORK
        elif behavior == MADV_KEEPONFORK:
            new_flags &= ~VM_WIPEONFORK
        else:
            new_flags = self.hugepage_madvise(new_flags, behavior)
        error, vma = self.madvise_update_vma(vma, prev, start, end, new_flags)
        # Running out of memory or of map_count while splitting is worth a
        # retry to the caller.
        if error == -ENOMEM:
            error = -EAGAIN
        return error, vma

    def hugepage_madvise(self, vm_flags: int, advice: int) -> int:
        """mm/huge_memory.c.  (MADV_HUGEPAGE also registers the mm with
        khugepaged, whose collapses allocate nothing of the reverse map.)"""
        if advice == MADV_HUGEPAGE:
            return (vm_flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE
        return (vm_flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE

    def can_madv_lru_vma(self, vma) -> bool:
        return not vma.vm_flags & (VM_LOCKED | VM_HUGETLB)

    def can_madvise_modify(self, vma, behavior: int) -> bool:
        """A sealed anonymous VMA that is not writable refuses the advice
        that discards its data."""
        if not vma_is_sealed(vma) or behavior not in _DISCARD:
            return True
        return bool(vma.vm_flags & VM_WRITE)

    def madvise_update_vma(self, vma, prev, start: int, end: int, new_flags: int,
                           set_new_anon_name: bool = False, anon_name=None):
        if not set_new_anon_name:
            anon_name = vma.anon_name
        if new_flags == vma.vm_flags and anon_name == vma.anon_name:
            return 0, vma
        if set_new_anon_name:
            new = self.vma_modify_name(prev, vma, start, end, anon_name)
        else:
            new = self.vma_modify_flags(prev, vma, start, end, new_flags)
        if isinstance(new, int):
            return new, vma
        self.vma_start_write(new)
        if set_new_anon_name:
            new.anon_name = anon_name       # replace_anon_vma_name()
        else:
            new.vm_flags = new_flags
        return 0, new

    def madvise_cold_or_pageout_pte_range(self, vma, start: int, end: int,
                                          pageout: bool) -> None:
        """Folios mapped more than once (shared with a fork relative) and
        the zero page are left alone.  COLD clears the accessed bits and
        puts the folios at the cold end of the LRU; PAGEOUT hands them to
        reclaim, which ignores the accessed bits."""
        folios = []
        for _vpn, pte in pte_range(vma.vm_mm, start, end):
            folio = pte.folio
            if folio is None or folio is self.zero_folio or folio not in self.lru \
                    or folio._mapcount != 0:
                continue
            if pageout:
                # folio_isolate_lru(): reclaim_pages() drops the reference
                self.folio_get(folio)
                folios.append(folio)
            else:
                pte.young = False
                self.folio_deactivate(folio)
        if folios:
            self.reclaim_pages(folios)

    def madvise_free_pte_range(self, vma, start: int, end: int) -> None:
        """MADV_FREE: swap entries are dropped (a fault gives a new zeroed
        page, cheaper than swap-in); a folio mapped only here, freed of its
        swap slot if it has one, becomes clean and lazyfree."""
        mm = vma.vm_mm
        pgd = mm.pgd
        for vpn, pte in pte_range(mm, start, end):
            if pte.marker:
                continue
            if not pte.present:
                del pgd[vpn]
                self.free_swap_and_cache(pte)
                continue
            folio = pte.folio
            if folio is self.zero_folio or folio._mapcount != 0:
                continue
            if folio.swap is not None:
                if not self.folio_trylock(folio):
                    continue
                freed = self.folio_free_swap(folio)
                self.folio_unlock(folio)
                if not freed:
                    continue
            pte.young = pte.dirty = False
            folio.swapbacked = False            # folio_mark_lazyfree()

    def madvise_populate(self, mm, start: int, end: int, behavior: int) -> int:
        pages = self.faultin_page_range(mm, start, end, behavior == MADV_POPULATE_WRITE)
        return min(pages, 0)

    def madvise_guard_install(self, vma, start: int, end: int) -> int:
        """is_valid_guard_vma(allow_locked=False), then an anon_vma: the
        range is no longer empty from a page table's point of view, and fork
        copies page tables only for VMAs with one.  Mapped pages are zapped
        (existing markers stay), then every PTE gets a guard marker."""
        if vma.vm_flags & (VM_HUGETLB | VM_LOCKED):
            return -EINVAL
        if self.anon_vma_prepare(vma):
            return -ENOMEM
        pgd = vma.vm_mm.pgd
        if any(not pte.marker for _vpn, pte in pte_range(vma.vm_mm, start, end)):
            self.zap_pte_range(vma, start, end)
        for vpn in range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
            if vpn not in pgd:
                pgd[vpn] = pte_marker(PTE_MARKER_GUARD)
        return 0

    def madvise_guard_remove(self, vma, start: int, end: int) -> int:
        """Removing guards is not destructive: locked VMAs may."""
        if vma.vm_flags & VM_HUGETLB:
            return -EINVAL
        pgd = vma.vm_mm.pgd
        for vpn, pte in pte_range(vma.vm_mm, start, end):
            if pte.marker & PTE_MARKER_GUARD:
                del pgd[vpn]
        return 0

    def madvise_collapse(self, vma, start: int, end: int) -> int:
        """mm/khugepaged.c: thp_vma_allowable_order(TVA_FORCED_COLLAPSE)
        wants a VMA without VM_NOHUGEPAGE that holds a whole PMD-aligned
        range (thp_vma_suitable_order at vm_end - PMD_SIZE)."""
        haddr = (vma.vm_end - PMD_SIZE) & ~(PMD_SIZE - 1)
        if vma.vm_flags & VM_NOHUGEPAGE or haddr < vma.vm_start \
                or haddr + PMD_SIZE > vma.vm_end:
            return -EINVAL
        return 0
