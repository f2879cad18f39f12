"""Linux 6.0 - 6.2: 2555283eb40d "mm/rmap: Fix anon_vma->degree ambiguity
leading to double-reuse" (Jann Horn, 2022-08-31, 6.0-rc4; CVE-2022-42703,
stable 5.19.7 and older) splits ``degree`` into ``num_children`` and
``num_active_vmas``: the rule 6.18 still has, so this era's rmap is the
model's own (kernel/mm/rmap.py).

It differs from ``Linux_6_3_rc1`` in not having 0503ea8f5ba7 "mm/mmap:
remove __vma_adjust()": 6.0's vma_adjust() duplicated the shrinking VMA's
anon_vmas into the expanding one in case 4, as 6.18's
vma_merge_existing_range() does, and reset ``importer->anon_vma`` when the
clone failed (b800c91a0517's lines; 6.3's dup_anon_vma() leaves that to
anon_vma_clone(), which clears it itself since B9's fix).

Sources: the 2555283eb40d backport (lore 20220901192230.4099716-1-
jannh@google.com, history.md B10) and the 6.18 model for what it kept.
"""

from __future__ import annotations

from ..kernel import Linux
from .v6_3 import Linux_6_3_rc1


class Linux_6_0(Linux_6_3_rc1):
    """Linux 6.0: num_children/num_active_vmas; before 0503ea8f5ba7."""

    name = "v6.0"
    description = ("6.0: 2555283eb40d num_children/num_active_vmas (today's reuse rule, "
                   "CVE-2022-42703 fixed), pre-6.16 merge rule")

    vma_merge_existing_range = Linux.vma_merge_existing_range

    def dup_anon_vma(self, dst, src) -> tuple[int, object]:
        """3.19 - 6.2 mm/mmap.c:vma_adjust(), "easily overlooked": the
        importer gets the exporter's anon_vmas.  Since b800c91a0517 (B8)
        ``importer->anon_vma`` is set before the clone, so anon_vma_clone()
        does not take the merge for a fork, and reset if it fails."""
        if src.anon_vma is not None and dst.anon_vma is None:
            dst.anon_vma = src.anon_vma
            ret = self.anon_vma_clone(dst, src)
            if ret:
                dst.anon_vma = None
                return ret, None
            return 0, dst
        return 0, None
