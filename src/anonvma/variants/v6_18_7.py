"""Linux 6.16 - 6.18.7: faulted/unfaulted anonymous merges allowed, and the
mremap() merge use-after-free that came with them (history.md B17).

879bca0a2c4f "mm/vma: fix incorrectly disallowed anonymous VMA merges"
(Lorenzo Stoakes, April 2025, 6.16) let an unfaulted VMA merge with a
faulted one, relying on dup_anon_vma() to give the survivor the anon_vmas,
and refused only VMAs that were forked (vma_had_uncowed_parents(), renamed
vma_is_fork_child()).  But when mremap()'s copy_vma() moves a *faulted* VMA
into a gap next to unfaulted ones, the VMA the pages come from is neither
prev nor next of the new range: vma_expand() duplicated anon_vmas only from
a removed ``next``, so the survivor mapped the moved folios with no
anon_vma, and after MREMAP_DONTUNMAP's unlink_anon_vmas() of the source the
folios pointed at a freed anon_vma (syzbot+b165fc2e11771c66d8ba,
syzbot+5272541ccbbb14e2ec30).

The fix, 61f67c230a5e "mm/vma: fix anon_vma UAF on mremap() faulted,
unfaulted merge" (January 2026, 6.18.8), records the mremap source in
``vmg->copied_from`` (vma_merge_copied_range()), duplicates its anon_vmas in
vma_expand(), and refuses the merge if the source is a fork child.  The
model (kernel/mm/vma.py) has the fix; this class takes it out again.

Sources: the 6.18 model's mm/vma.c functions with 61f67c230a5e's lines
removed, as the commit and history.md B17 describe them (the commit's
diff itself was not available to read).  In 6.16's copy_vma() the lines
that ``vma_merge_copied_range`` stands for here were ``vmg.middle = NULL;
new_vma = vma_merge_new_range(&vmg);``.
"""

from __future__ import annotations

from ..kernel import Linux
from ..kernel.include.errno import ENOMEM


class Linux_6_18_7(Linux):
    """Linux 6.16 - 6.18.7: before 61f67c230a5e (B17)."""

    name = "v6.18.7"
    description = ("6.16-6.18.7: unfaulted/faulted merges (879bca0a2c4f) without "
                   "copied_from: mremap merge UAF (B17, fixed by 61f67c230a5e)")
    rmap_layout = "interval_tree"
    rmap_counters = "num_children"
    anon_vma_lock = "rwsem"
    lockdep_flavour = "fs_reclaim"

    def is_mergeable_anon_vma(self, vmg, merge_next: bool) -> bool:
        tgt = vmg.next if merge_next else vmg.prev
        src = vmg.middle
        tgt_anon = tgt.anon_vma
        src_anon = vmg.anon_vma
        # Case 1: we will dup_anon_vma() from src into tgt.
        if tgt_anon is None and src_anon is not None:
            return not self.vma_is_fork_child(src)
        # Case 2: we will simply use tgt's anon_vma.
        if tgt_anon is not None and src_anon is None:
            return not self.vma_is_fork_child(tgt)
        # Case 3: the anon_vmas are already shared.
        return src_anon is tgt_anon

    def vma_merge_copied_range(self, vmg):
        """6.16 copy_vma(): the range is new; nothing remembers where its
        pages come from."""
        vmg.middle = None
        return self.vma_merge_new_range(vmg)

    def vma_expand(self, vmg) -> int:
        """Only a removed ``next`` hands its anon_vmas to the target."""
        target, next = vmg.target, vmg.next
        self.mmap_assert_write_locked(vmg.mm)
        self.vma_start_write(target)
        remove_next = next is not None and target is not next and vmg.end == next.vm_end

        ret, anon_dup = 0, None
        if remove_next:
            ret, anon_dup = self.dup_anon_vma(target, next)
            if ret:
                return ret
            self.vma_start_write(next)
            vmg.remove_next = True
        if self.commit_merge(vmg):
            if anon_dup is not None:
                self.unlink_anon_vmas(anon_dup)
            vmg.nomem = True
            return -ENOMEM
        return 0
