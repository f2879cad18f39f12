"""mm/madvise.c (Linux 6.18): the advice a scenario can give.

DONTFORK/DOFORK/WIPEONFORK/KEEPONFORK change vm_flags (and so split and
merge VMAs, cloning and unlinking anon_vma chains); DONTNEED zaps pages and
keeps the anon_vma; PAGEOUT reclaims the range's pages through the reclaim
path.  prctl(PR_SET_VMA_ANON_NAME) names VMAs through the same walk.
Holes in the range are skipped and reported as -ENOMEM at the end.
"""

from __future__ import annotations

from ..include.errno import EAGAIN, EINVAL, ENOMEM, EPERM
from ..include.mm import (
    MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_KEEPONFORK, MADV_PAGEOUT, MADV_WIPEONFORK,
    PAGE_ALIGN, PAGE_MASK, VM_DONTCOPY, VM_LOCKED, VM_SHARED, VM_WIPEONFORK, VM_WRITE,
    vma_is_sealed,
)
from .memory import pte_range

_FLAG_BEHAVIORS = (MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK)
_BEHAVIORS = _FLAG_BEHAVIORS + (MADV_DONTNEED, MADV_PAGEOUT)
_MADV_SET_ANON_VMA_NAME = -1    # __MADV_SET_ANON_VMA_NAME: prctl's, not madvise()'s
# is_discard(): the advice a sealed read-only anonymous VMA refuses
_DISCARD = (MADV_DONTNEED, MADV_DONTFORK, MADV_WIPEONFORK)


class Madvise:

    def sys_madvise(self, start: int, len_in: int, behavior: int) -> int:
        return self.do_madvise(start, len_in, behavior)

    def do_madvise(self, start: int, len_in: int, behavior: int) -> int:
        if behavior not in _BEHAVIORS or start & ~PAGE_MASK:
            return -EINVAL
        length = PAGE_ALIGN(len_in)
        if len_in and not length:
            return -EINVAL
        end = start + length
        if end < start:
            return -EINVAL
        if end == start:
            return 0
        mm = self.current.mm
        # Changing vm_flags needs the mmap lock for write; the rest read it.
        write = behavior in _FLAG_BEHAVIORS
        if write:
            self.mmap_write_lock(mm)
        else:
            self.mmap_read_lock(mm)
        try:
            return self.madvise_walk_vmas(mm, start, end, behavior)
        finally:
            if write:
                self.mmap_write_unlock(mm)
            else:
                self.mmap_read_unlock(mm)

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
        if behavior == MADV_DONTNEED:
            if vma.vm_flags & VM_LOCKED:
                return -EINVAL, vma
            self.zap_pte_range(vma, start, end)
            return 0, vma
        if behavior == MADV_PAGEOUT:
            if vma.vm_flags & VM_LOCKED:
                return -EINVAL, vma
            self.madvise_pageout(vma, start, end)
            return 0, vma
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
        else:
            new_flags &= ~VM_WIPEONFORK
        error, vma = self.madvise_update_vma(vma, prev, start, end, new_flags)
        # Running out of memory or of map_count while splitting is worth a
        # retry to the caller.
        if error == -ENOMEM:
            error = -EAGAIN
        return error, vma

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

    def madvise_pageout(self, vma, start: int, end: int) -> None:
        """Hand the range's folios to reclaim.  Folios mapped more than once
        (shared with a fork relative) and the zero page are left alone."""
        folios = []
        for _vpn, pte in pte_range(vma.vm_mm, start, end):
            folio = pte.folio
            if folio is None or folio is self.zero_folio or folio not in self.lru \
                    or folio._mapcount != 0:
                continue
            folios.append(folio)
        if folios:
            self.reclaim_pages(folios)
