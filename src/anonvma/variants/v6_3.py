"""Linux 6.0 - 6.15 merge rules, and 6.3-rc1's broken merge case 4 (history.md
B14).

``Linux_6_3`` is 6.3 to 6.15 as far as anon_vmas go: 6.18's rmap (the
num_children/num_active_vmas counters of 2555283eb40d), with the merge rule
of 965f55dea0e3 (2011) that 879bca0a2c4f replaced in 6.16: one side may
lack an anon_vma only if the neighbour's chain is singular, so an unfaulted
neighbour never absorbs a faulted range.

``Linux_6_3_rc1`` has 0503ea8f5ba7 "mm/mmap: remove __vma_adjust()" as
merged for 6.3-rc1: in vma_merge() case 4 ('prev' shrinks, 'mid' expands)
the expanding VMA must clone the shrinking one's anon_vma if it has none,
but the refactor passed res == next and adjust == mid == next, so
dup_anon_vma() copied from the expanding VMA to itself, a no-op.  Fixed by
Vlastimil Babka's 4c6759967826 "mm/mremap: fix dup_anon_vma() in
vma_merge() case 4" (Feb 2023, 6.3-rc1; 07dc4b186203 in the mm tree).
In the model case 4 is vma_merge_existing_range()'s merge-right branch
with ``adjust_next_start``.

Sources: history.md B14 (the commit texts); neither 6.3 tree nor the fix's
diff was available to read, so the buggy line is modelled from the fix's
description on 6.18's vma_merge_existing_range().  Under the pre-6.16 merge
rule the model keeps, the expanding ``next`` of case 4 always has an
anon_vma of its own when the shrinking VMA has one, so the no-op does not
change any scenario the model runs; it does on ``Linux_6_18_7``'s rule.
"""

from __future__ import annotations

from ..kernel.include.mm import PAGE_SHIFT
from .v3_0 import Linux_3_0_rc2
from .v6_18_7 import Linux_6_18_7


class Linux_6_3(Linux_6_18_7):
    """Linux 6.3 - 6.15: the merge rule before 879bca0a2c4f."""

    name = "v6.3"
    description = ("6.3-6.15: num_children/num_active_vmas, an unfaulted neighbour never "
                   "absorbs a faulted range (4c6759967826 fixed B14)")

    is_mergeable_anon_vma = Linux_3_0_rc2.is_mergeable_anon_vma


class Linux_6_3_rc1(Linux_6_3):
    """Linux 6.3-rc1: 0503ea8f5ba7's merge case 4 (B14)."""

    name = "v6.3-rc1"
    description = "6.3-rc1: dup_anon_vma() in vma_merge case 4 is a no-op (B14, 0503ea8f5ba7)"

    def vma_merge_existing_range(self, vmg):
        """6.3-rc1: merge case 4 (middle shrinks, next expands over its
        end) no longer hands middle's anon_vmas to next."""
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
            # 0503ea8f5ba7: res == next, adjust == mid == next, so the
            # expanding VMA is asked to copy anon_vmas from itself.
            err, anon_dup = self.dup_anon_vma(next, next if vmg.adjust_next_start else middle)

        if err or self.commit_merge(vmg):
            if anon_dup is not None:
                self.unlink_anon_vmas(anon_dup)
            vmg.nomem = True
            return None
        return vmg.target

