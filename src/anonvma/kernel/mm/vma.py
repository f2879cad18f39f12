"""mm/vma.c (Linux 6.18): merging, splitting, unmapping and copying VMAs.

Only what private anonymous mappings need: no files, no userfaultfd, no
VM_SPECIAL mappings.  Those fields would compare equal for every VMA of a
scenario, so leaving them out does not change a single merge decision.  VMA
names and memory policies, which scenarios set, take part in merges as in the
kernel; sealing is a vm_flag.

The maple tree preallocation that can fail in the kernel (``vma_iter_prealloc``)
always succeeds here: maple nodes are not slab objects the model traces.
"""

from __future__ import annotations

from ..include.errno import ENOMEM, EINVAL, EPERM
from ..include.mm import (
    MMAP_MIN_ADDR, PAGE_SHIFT, PAGE_ALIGN, TASK_SIZE, VM_ACCESS_FLAGS, VM_ACCOUNT,
    VM_DATA_DEFAULT_FLAGS, VM_IGNORE_MERGE, VM_NORESERVE,
    VM_SHARED, VM_SOFTDIRTY, VM_WRITE, offset_in_page, vm_start_gap, vma_is_sealed, vma_pages,
)
from .interval_tree import anon_vma_interval_tree_insert, anon_vma_interval_tree_remove


class vma_merge_struct:
    """mm/vma.h: the description of a merge that ``vma_merge_*`` work on.

    ``prev``/``middle``/``next`` are the VMAs around the range [start, end);
    ``target`` is the VMA that survives; ``copied_from`` is mremap's source.
    """

    __slots__ = ("mm", "prev", "middle", "next", "target", "start", "end", "pgoff",
                 "vm_flags", "anon_vma", "copied_from", "just_expand",
                 "remove_middle", "remove_next", "adjust_middle_start",
                 "adjust_next_start", "nomem", "anon_name", "policy")

    def __init__(self, mm, start: int, end: int, vm_flags: int, pgoff: int,
                 prev=None, middle=None, next=None, anon_vma=None):
        self.mm = mm
        self.prev = prev
        self.middle = middle
        self.next = next
        self.target = None
        self.start = start
        self.end = end
        self.pgoff = pgoff
        self.vm_flags = vm_flags
        self.anon_vma = anon_vma
        self.copied_from = None
        self.just_expand = False
        self.remove_middle = False
        self.remove_next = False
        self.adjust_middle_start = False
        self.adjust_next_start = False
        self.nomem = False
        self.anon_name = None
        self.policy = None


def VMG_VMA_STATE(vma, prev, start: int, end: int) -> vma_merge_struct:
    """A merge description for changing [start, end) of an existing VMA."""
    vmg = vma_merge_struct(vma.vm_mm, start, end, vma.vm_flags,
                           vma_pgoff_offset(vma, start), prev=prev, middle=vma,
                           anon_vma=vma.anon_vma)
    vmg.anon_name = vma.anon_name
    vmg.policy = vma.vm_policy
    return vmg


def vma_pgoff_offset(vma, addr: int) -> int:
    return vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)


class vma_prepare:
    """mm/vma.h: the VMAs a merge or split touches, for vma_prepare()/complete()."""

    __slots__ = ("vma", "adj_next", "anon_vma", "insert", "remove", "remove2")

    def __init__(self, vma, vmg: vma_merge_struct | None = None):
        self.vma = vma
        self.anon_vma = vma.anon_vma
        self.insert = None
        self.remove = None
        self.remove2 = None
        adjust = None
        if vmg is not None:
            if vmg.remove_middle:
                self.remove = vmg.middle
            if vmg.remove_next:
                if self.remove is None:
                    self.remove = vmg.next
                else:
                    self.remove2 = vmg.next
            if vmg.adjust_middle_start:
                adjust = vmg.middle
            elif vmg.adjust_next_start:
                adjust = vmg.next
        self.adj_next = adjust
        if self.anon_vma is None and adjust is not None:
            self.anon_vma = adjust.anon_vma


class Vma:
    """mm/vma.c, mixed into the kernel."""

    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    # -- anon_vma sharing between neighbours -------------------------------------

    def vma_is_fork_child(self, vma) -> bool:
        """Was this VMA ever forked from a parent?  Merging such VMAs would
        widen the set of folios under one busy root lock."""
        return vma is not None and vma.anon_vma is not None and len(vma.anon_vma_chain) != 1

    def is_mergeable_vma(self, vmg: vma_merge_struct, merge_next: bool) -> bool:
        vma = vmg.next if merge_next else vmg.prev
        if vma.vm_policy != vmg.policy:                 # mpol_equal()
            return False
        # VM_SOFTDIRTY must not stop a merge.
        if (vma.vm_flags ^ vmg.vm_flags) & ~VM_IGNORE_MERGE:
            return False
        return vma.anon_name == vmg.anon_name           # anon_vma_name_eq()

    def is_mergeable_anon_vma(self, vmg: vma_merge_struct, merge_next: bool) -> bool:
        tgt = vmg.next if merge_next else vmg.prev
        src = vmg.middle
        tgt_anon = tgt.anon_vma
        src_anon = vmg.anon_vma
        # Case 1: we will dup_anon_vma() from src into tgt.
        if tgt_anon is None and src_anon is not None:
            if self.vma_is_fork_child(src):
                return False
            if self.vma_is_fork_child(vmg.copied_from):
                return False
            return True
        # Case 2: we will simply use tgt's anon_vma.
        if tgt_anon is not None and src_anon is None:
            return not self.vma_is_fork_child(tgt)
        # Case 3: the anon_vmas are already shared.
        return src_anon is tgt_anon

    def can_vma_merge_before(self, vmg: vma_merge_struct) -> bool:
        pglen = (vmg.end - vmg.start) >> PAGE_SHIFT
        return (self.is_mergeable_vma(vmg, True) and self.is_mergeable_anon_vma(vmg, True)
                and vmg.next.vm_pgoff == vmg.pgoff + pglen)

    def can_vma_merge_after(self, vmg: vma_merge_struct) -> bool:
        return (self.is_mergeable_vma(vmg, False) and self.is_mergeable_anon_vma(vmg, False)
                and vmg.prev.vm_pgoff + vma_pages(vmg.prev) == vmg.pgoff)

    def can_vma_merge_left(self, vmg: vma_merge_struct) -> bool:
        return (vmg.prev is not None and vmg.prev.vm_end == vmg.start
                and self.can_vma_merge_after(vmg))

    def can_vma_merge_right(self, vmg: vma_merge_struct, can_merge_left: bool) -> bool:
        next = vmg.next
        if next is None or vmg.end != next.vm_start or not self.can_vma_merge_before(vmg):
            return False
        if not can_merge_left:
            return True
        # Mergeable with each side does not make prev and next compatible
        # with each other.
        prev = vmg.prev
        return prev.anon_vma is None or next.anon_vma is None or prev.anon_vma is next.anon_vma

    def anon_vma_compatible(self, a, b) -> bool:
        return (a.vm_end == b.vm_start and a.vm_policy == b.vm_policy
                and not ((a.vm_flags ^ b.vm_flags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY))
                and b.vm_pgoff == a.vm_pgoff + ((b.vm_start - a.vm_start) >> PAGE_SHIFT))

    def reusable_anon_vma(self, old, a, b):
        if self.anon_vma_compatible(a, b):
            av = old.anon_vma
            if av is not None and len(old.anon_vma_chain) == 1:
                return av
        return None

    def find_mergeable_anon_vma(self, vma):
        """An anon_vma a neighbour can share with ``vma``: next first, then
        prev, and only one whose chain is singular (never through a fork)."""
        mt = vma.vm_mm.mm_mt
        next = mt.next(vma)
        if next is not None:
            av = self.reusable_anon_vma(next, vma, next)
            if av is not None:
                return av
        prev = mt.prev(vma)
        if prev is not None:
            return self.reusable_anon_vma(prev, prev, vma)
        return None

    def dup_anon_vma(self, dst, src) -> tuple[int, object]:
        """Give an unfaulted ``dst`` that absorbs ``src``'s range the anon_vmas
        of ``src``.  Returns (error, the VMA to unlink if the merge fails)."""
        if src.anon_vma is not None and dst.anon_vma is None:
            dst.anon_vma = src.anon_vma
            ret = self.anon_vma_clone(dst, src)
            if ret:
                return ret, None
            return 0, dst
        return 0, None

    # -- changing VMA ranges under the rmap lock ------------------------------------

    def anon_vma_interval_tree_pre_update_vma(self, vma) -> None:
        for avc in vma.anon_vma_chain:
            anon_vma_interval_tree_remove(avc, avc.anon_vma.rb_root)

    def anon_vma_interval_tree_post_update_vma(self, vma) -> None:
        for avc in vma.anon_vma_chain:
            anon_vma_interval_tree_insert(avc, avc.anon_vma.rb_root)

    def vma_prepare(self, vp: vma_prepare) -> None:
        if vp.anon_vma is not None:
            self.anon_vma_lock_write(vp.anon_vma)
            self.anon_vma_interval_tree_pre_update_vma(vp.vma)
            if vp.adj_next is not None:
                self.anon_vma_interval_tree_pre_update_vma(vp.adj_next)

    def vma_complete(self, vp: vma_prepare, mm) -> None:
        if vp.insert is not None:
            # split_vma() inserts the new VMA before dropping the locks
            mm.mm_mt.store(vp.insert)
            vp.insert.detached = False
            mm.map_count += 1
        if vp.anon_vma is not None:
            self.anon_vma_interval_tree_post_update_vma(vp.vma)
            if vp.adj_next is not None:
                self.anon_vma_interval_tree_post_update_vma(vp.adj_next)
            self.anon_vma_unlock_write(vp.anon_vma)
        for remove in (vp.remove, vp.remove2):
            if remove is None:
                continue
            remove.detached = True
            if remove.anon_vma is not None:
                self.anon_vma_merge(vp.vma, remove)
            mm.map_count -= 1
            self.vm_area_free(remove)

    def vma_set_range(self, vma, start: int, end: int, pgoff: int) -> None:
        """Change a VMA's range; the maple tree follows the new start."""
        old_start = vma.vm_start
        vma.vm_start = start
        vma.vm_end = end
        vma.vm_pgoff = pgoff
        if not vma.detached:
            vma.vm_mm.mm_mt.rekey(vma, old_start)

    # -- merging -----------------------------------------------------------------------

    def commit_merge(self, vmg: vma_merge_struct) -> int:
        mm = vmg.mm
        if vmg.adjust_next_start:
            # We manipulate middle and adjust next, which is the target.
            vma = vmg.middle
        else:
            vma = vmg.target
        vp = vma_prepare(vma, vmg)
        self.vma_prepare(vp)
        # Removed VMAs leave the tree before the survivors grow over them.
        for remove in (vp.remove, vp.remove2):
            if remove is not None:
                mm.mm_mt.erase(remove)
        self.vma_set_range(vma, vmg.start, vmg.end, vmg.pgoff)
        if vmg.adjust_middle_start:
            adjust = vmg.middle
            self.vma_set_range(adjust, vmg.end, adjust.vm_end,
                               adjust.vm_pgoff + ((vmg.end - adjust.vm_start) >> PAGE_SHIFT))
        elif vmg.adjust_next_start:
            adjust = vmg.next
            self.vma_set_range(adjust, vmg.end, adjust.vm_end,
                               adjust.vm_pgoff - ((adjust.vm_start - vmg.end) >> PAGE_SHIFT))
        self.vma_complete(vp, mm)
        return 0

    def vma_merge_existing_range(self, vmg: vma_merge_struct):
        """Merge the neighbours of a range of ``vmg.middle`` whose attributes
        change (mprotect, madvise, ...).  Returns the merged VMA or None."""
        middle = vmg.middle
        prev = vmg.prev
        start, end = vmg.start, vmg.end
        left_side = start == middle.vm_start
        right_side = end == middle.vm_end
        self.mmap_assert_write_locked(vmg.mm)

        if not left_side and not right_side:
            return None

        merge_left = left_side and self.can_vma_merge_left(vmg)
        if right_side:
            next = vmg.next = vmg.mm.mm_mt.next(middle)
            merge_right = self.can_vma_merge_right(vmg, merge_left)
        else:
            next = None
            merge_right = False

        if not merge_left and not merge_right:
            return None

        merge_both = merge_left and merge_right
        # If we span the entire VMA, a merge implies it will be deleted.
        vmg.remove_middle = left_side and right_side
        vmg.remove_next = merge_both

        self.vma_start_write(middle)
        if merge_right:
            self.vma_start_write(next)
            vmg.target = next
        if merge_left:
            self.vma_start_write(prev)
            vmg.target = prev

        if merge_both:
            # |<-------------------->|
            # |-------********-------|
            #   prev   middle   next
            #  extend  delete  delete
            vmg.start = prev.vm_start
            vmg.end = next.vm_end
            vmg.pgoff = prev.vm_pgoff
            err, anon_dup = self.dup_anon_vma(prev, next if next.anon_vma is not None else middle)
        elif merge_left:
            # |<------------>|      OR
            # |<----------------->|
            # |-------*************
            #   prev     middle
            #  extend shrink/delete
            vmg.start = prev.vm_start
            vmg.pgoff = prev.vm_pgoff
            if not vmg.remove_middle:
                vmg.adjust_middle_start = True
            err, anon_dup = self.dup_anon_vma(prev, middle)
        else:
            #     |<------------->| OR
            # |<----------------->|
            # *************-------|
            #    middle     next
            # shrink/delete extend
            pglen = (vmg.end - vmg.start) >> PAGE_SHIFT
            if vmg.remove_middle:
                vmg.end = next.vm_end
                vmg.pgoff = next.vm_pgoff - pglen
            else:
                # We shrink middle and expand next.
                vmg.adjust_next_start = True
                vmg.start = middle.vm_start
                vmg.end = start
                vmg.pgoff = middle.vm_pgoff
            err, anon_dup = self.dup_anon_vma(next, middle)

        if err or self.commit_merge(vmg):
            if anon_dup is not None:
                self.unlink_anon_vmas(anon_dup)
            vmg.nomem = True
            return None
        return vmg.target

    def vma_merge_new_range(self, vmg: vma_merge_struct):
        """Merge a new range [start, end) into its neighbours by expanding one
        of them (mmap, mremap's copy_vma, in-place growth)."""
        prev, next = vmg.prev, vmg.next
        self.mmap_assert_write_locked(vmg.mm)

        if prev is None and next is None:
            return None
        can_merge_left = self.can_vma_merge_left(vmg)
        can_merge_right = not vmg.just_expand and self.can_vma_merge_right(vmg, can_merge_left)

        if can_merge_right:
            vmg.end = next.vm_end
            vmg.target = next
        if can_merge_left:
            vmg.start = prev.vm_start
            vmg.target = prev
            vmg.pgoff = prev.vm_pgoff

        if vmg.target is not None and not self.vma_expand(vmg):
            return vmg.target
        return None

    def vma_merge_copied_range(self, vmg: vma_merge_struct):
        vmg.copied_from = vmg.middle
        vmg.middle = None
        return self.vma_merge_new_range(vmg)

    def vma_expand(self, vmg: vma_merge_struct) -> int:
        """Expand vmg.target over [start, end), swallowing vmg.next if it ends
        at ``end``; propagate anon_vmas from whatever the target absorbs."""
        target, next = vmg.target, vmg.next
        self.mmap_assert_write_locked(vmg.mm)
        self.vma_start_write(target)
        remove_next = next is not None and target is not next and vmg.end == next.vm_end

        ret, anon_dup = 0, None
        if remove_next:
            ret, anon_dup = self.dup_anon_vma(target, next)
        # The 6.18-stable fix: an unfaulted target absorbing mremap()'s
        # faulted source must take the source's anon_vmas too, or the moved
        # pages become unreachable by rmap.
        if not ret and vmg.copied_from is not None:
            ret, dup = self.dup_anon_vma(target, vmg.copied_from)
            anon_dup = anon_dup or dup
        if ret:
            return ret
        if remove_next:
            self.vma_start_write(next)
            vmg.remove_next = True
        if self.commit_merge(vmg):
            if anon_dup is not None:
                self.unlink_anon_vmas(anon_dup)
            vmg.nomem = True
            return -ENOMEM
        return 0

    def vma_merge_extend(self, vma, delta: int):
        """Grow ``vma`` by ``delta`` bytes in place, merging with the next VMA
        where possible (mremap's in-place expansion)."""
        vmg = VMG_VMA_STATE(vma, vma, vma.vm_end, vma.vm_end + delta)
        vmg.next = vma.vm_mm.mm_mt.next(vma)
        vmg.middle = None
        return self.vma_merge_new_range(vmg)

    def vma_modify(self, vmg: vma_merge_struct):
        """Prepare [start, end) of vmg.middle for new attributes: merge it
        with a neighbour, or split it out.  Returns the VMA or -errno."""
        vma = vmg.middle
        start, end = vmg.start, vmg.end
        merged = self.vma_merge_existing_range(vmg)
        if merged is not None:
            return merged
        if vmg.nomem:
            return -ENOMEM
        if vma.vm_start < start:
            err = self.split_vma(vma, start, True)
            if err:
                return err
        if vma.vm_end > end:
            err = self.split_vma(vma, end, False)
            if err:
                return err
        return vma

    def vma_modify_flags(self, prev, vma, start: int, end: int, vm_flags: int):
        vmg = VMG_VMA_STATE(vma, prev, start, end)
        vmg.vm_flags = vm_flags
        return self.vma_modify(vmg)

    def vma_modify_name(self, prev, vma, start: int, end: int, anon_name):
        vmg = VMG_VMA_STATE(vma, prev, start, end)
        vmg.anon_name = anon_name
        return self.vma_modify(vmg)

    def vma_modify_policy(self, prev, vma, start: int, end: int, new_pol):
        vmg = VMG_VMA_STATE(vma, prev, start, end)
        vmg.policy = new_pol
        return self.vma_modify(vmg)

    # -- splitting -----------------------------------------------------------------------

    def _split_vma(self, vma, addr: int, new_below: bool) -> int:
        """Split ``vma`` at ``addr``.  The new VMA is the part below ``addr`` if
        ``new_below``, else the part above; ``vma`` keeps the rest."""
        new = self.vm_area_dup(vma)
        if new is None:
            return -ENOMEM
        if new_below:
            new.vm_end = addr
        else:
            new.vm_start = addr
            new.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT

        err = self.anon_vma_clone(new, vma)
        if err:
            self.vm_area_free(new)
            return err

        self.vma_start_write(vma)
        self.vma_start_write(new)
        vp = vma_prepare(vma)
        vp.insert = new
        self.vma_prepare(vp)
        if new_below:
            self.vma_set_range(vma, addr, vma.vm_end,
                               vma.vm_pgoff + ((addr - new.vm_start) >> PAGE_SHIFT))
        else:
            self.vma_set_range(vma, vma.vm_start, addr, vma.vm_pgoff)
        # vma_complete() stores the new VMA
        self.vma_complete(vp, vma.vm_mm)
        return 0

    def split_vma(self, vma, addr: int, new_below: bool) -> int:
        if vma.vm_mm.map_count >= self.sysctl_max_map_count:
            return -ENOMEM
        return self._split_vma(vma, addr, new_below)

    # -- unmapping ---------------------------------------------------------------------

    def do_vmi_munmap(self, mm, start: int, length: int) -> int:
        if offset_in_page(start) or start > TASK_SIZE or length > TASK_SIZE - start:
            return -EINVAL
        end = start + PAGE_ALIGN(length)
        if end == start:
            return -EINVAL
        vma = mm.mm_mt.find(start)
        if vma is None or vma.vm_start >= end:
            return 0
        return self.do_vmi_align_munmap(vma, mm, start, end)

    def do_vmi_align_munmap(self, vma, mm, start: int, end: int) -> int:
        detach, error = self.vms_gather_munmap_vmas(vma, mm, start, end)
        if error:
            return error
        self.vms_complete_munmap_vmas(mm, detach)
        return 0

    def vms_gather_munmap_vmas(self, vma, mm, start: int, end: int):
        """Split the VMAs at the edges of [start, end) and detach every VMA
        inside it, in address order.  Returns (detached VMAs, error)."""
        if start > vma.vm_start:
            if end < vma.vm_end and mm.map_count >= self.sysctl_max_map_count:
                return [], -ENOMEM
            # Don't bother splitting the VMA if we can't unmap it anyway.
            if vma_is_sealed(vma):
                return [], -EPERM
            error = self._split_vma(vma, start, True)
            if error:
                return [], error
        detach = []
        for next in mm.mm_mt.range(start, end):
            if vma_is_sealed(next):
                self.reattach_vmas(detach)
                return [], -EPERM
            if next.vm_end > end:
                error = self._split_vma(next, end, False)
                if error:
                    self.reattach_vmas(detach)
                    return [], error
            self.vma_start_write(next)
            mm.mm_mt.erase(next)
            next.detached = True
            detach.append(next)
        return detach, 0

    def reattach_vmas(self, detach) -> None:
        for vma in detach:
            vma.detached = False
            vma.vm_mm.mm_mt.store(vma)

    def vms_clear_ptes(self, detach) -> None:
        self.unmap_vmas(detach)
        self.free_pgtables(detach)

    def vms_complete_munmap_vmas(self, mm, detach, clear_ptes: bool = True) -> None:
        """Finish an munmap: the PTEs go now unless ``vms_clear_ptes`` already
        cleared them (mmap over the range), then the VMAs are freed."""
        mm.map_count -= len(detach)
        if not detach:
            return
        if clear_ptes:
            self.vms_clear_ptes(detach)
        for vma in detach:
            self.remove_vma(vma)

    def remove_vma(self, vma) -> None:
        self.might_sleep()
        self.vm_area_free(vma)

    # -- linking new VMAs --------------------------------------------------------------

    def vma_link(self, mm, vma) -> int:
        self.vma_start_write(vma)
        mm.mm_mt.store(vma)
        vma.detached = False
        mm.map_count += 1
        return 0

    def accountable_mapping(self, vm_flags: int) -> bool:
        return (vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE

    def mmap_region(self, mm, addr: int, length: int, vm_flags: int, pgoff: int) -> int:
        """__mmap_region(): map [addr, addr + length).  VMAs already there
        (MAP_FIXED) are gathered and their pages and page tables cleared
        first, so they leave the reverse map before the new VMA is merged
        or inserted; freeing them (the rest of their munmap) comes last."""
        self.mmap_assert_write_locked(mm)
        end = addr + length
        # __mmap_prepare(): find the first overlapping VMA and gather.
        detach = []
        vma = mm.mm_mt.find(addr)
        if vma is not None and vma.vm_start < end:
            detach, error = self.vms_gather_munmap_vmas(vma, mm, addr, end)
            if error:
                return error
        next = mm.mm_mt.find(addr)
        prev = mm.mm_mt.prev_of_addr(addr)
        if self.accountable_mapping(vm_flags):
            vm_flags |= VM_ACCOUNT
        # vms_clean_up_area(): clear PTEs while the VMAs are still isolated
        # from the tree but not yet freed, so rmap cannot race with the free.
        if detach:
            self.vms_clear_ptes(detach)
        vma = None
        if prev is not None or next is not None:
            vmg = vma_merge_struct(mm, addr, end, vm_flags, pgoff, prev=prev, next=next)
            vma = self.vma_merge_new_range(vmg)
        if vma is None:
            # __mmap_new_vma()
            vma = self.vm_area_alloc(mm)
            if vma is None:
                # vms_abort_munmap_vmas(): the PTEs are gone, so the old
                # VMAs cannot come back; the range is left a hole.
                self.vms_complete_munmap_vmas(mm, detach, clear_ptes=False)
                return -ENOMEM
            self.vma_set_range(vma, addr, end, pgoff)
            vma.vm_flags = vm_flags
            self.vma_start_write(vma)
            mm.mm_mt.store(vma)
            vma.detached = False
            mm.map_count += 1
        # __mmap_complete(): unmap any existing mapping in the area.
        self.vms_complete_munmap_vmas(mm, detach, clear_ptes=False)
        return addr

    def do_brk_flags(self, mm, vma, addr: int, length: int, vm_flags: int) -> int:
        """Grow the heap over [addr, addr + length): expand ``vma`` (the heap
        VMA, or whatever ends at ``addr`` above start_brk) if it is
        compatible, never merging with what follows (expand-only mode);
        else a new VMA."""
        vm_flags |= VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT
        if mm.map_count > self.sysctl_max_map_count:
            return -ENOMEM
        if vma is not None and vma.vm_end == addr:
            vmg = vma_merge_struct(mm, addr, addr + length, vm_flags, addr >> PAGE_SHIFT, prev=vma)
            vmg.just_expand = True
            if self.vma_merge_new_range(vmg) is not None:
                return 0
            if vmg.nomem:
                return -ENOMEM
        vma = self.vm_area_alloc(mm)
        if vma is None:
            return -ENOMEM
        self.vma_set_range(vma, addr, addr + length, addr >> PAGE_SHIFT)
        vma.vm_flags = vm_flags
        self.vma_start_write(vma)
        mm.mm_mt.store(vma)
        vma.detached = False
        mm.map_count += 1
        return 0

    def unmapped_area_topdown(self, mm, length: int, low_limit: int, high_limit: int) -> int:
        """The highest free range of ``length`` bytes in [low_limit,
        high_limit), keeping a stack's guard gap free; or -ENOMEM."""
        low_limit = max(low_limit, MMAP_MIN_ADDR)
        gap_end = high_limit
        for vma in reversed(list(mm.mm_mt)):
            if vma.vm_end <= gap_end:
                if gap_end - vma.vm_end >= length:
                    break
            gap_end = min(gap_end, vm_start_gap(vma))
        if gap_end - length < low_limit:
            return -ENOMEM
        return gap_end - length

    def copy_vma(self, vma, addr: int, length: int, pgoff: int):
        """mremap: a copy of ``vma`` at [addr, addr + length), merged into a
        neighbour where possible.  Returns (new_vma, vma, need_rmap_locks),
        where ``vma`` is the source, which an unfaulted source may have been
        merged into; new_vma is None on failure."""
        mm = vma.vm_mm
        vma_start = vma.vm_start
        faulted_in_anon_vma = True
        # An unfaulted anonymous VMA can be placed as if it had always been
        # at the new address.
        if vma.anon_vma is None:
            pgoff = addr >> PAGE_SHIFT
            faulted_in_anon_vma = False

        vmg = VMG_VMA_STATE(vma, mm.mm_mt.prev_of_addr(addr), addr, addr + length)
        vmg.pgoff = pgoff
        vmg.next = mm.mm_mt.find(addr)
        new_vma = self.vma_merge_copied_range(vmg)
        if new_vma is not None:
            if new_vma.vm_start <= vma_start < new_vma.vm_end:
                # Only an unfaulted source, whose pgoff was reset above, can
                # have merged with its own destination.
                self.VM_BUG_ON(faulted_in_anon_vma, "copy_vma: a faulted VMA merged with itself")
                vma = new_vma
            # Moving onto an earlier pgoff needs the rmap locks so that
            # walkers see the old PTE or the new one, never neither.
            return new_vma, vma, new_vma.vm_pgoff <= vma.vm_pgoff
        new_vma = self.vm_area_dup(vma)
        if new_vma is None:
            return None, vma, False
        self.vma_set_range(new_vma, addr, addr + length, pgoff)
        if self.anon_vma_clone(new_vma, vma):
            self.vm_area_free(new_vma)
            return None, vma, False
        self.vma_link(mm, new_vma)
        # A fresh VMA sorts after the source in rmap walk order.
        return new_vma, vma, False
