"""Linux 6.0 - 6.2: 2555283eb40d "mm/rmap: Fix anon_vma->degree ambiguity
leading to double-reuse" (Jann Horn, 2022-08-31, 6.0-rc4; CVE-2022-42703,
stable 5.19.7 and older) splits ``degree`` into ``num_children`` and
``num_active_vmas``: the rule 6.18 still has, so this era's rmap is the
model's own (kernel/mm/rmap.py).

It differs from ``Linux_6_3_rc1`` only in not having 0503ea8f5ba7's broken
merge case 4: 6.0's vma_adjust() duplicated the shrinking VMA's anon_vmas
into the expanding one, as 6.18's vma_merge_existing_range() does.

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
