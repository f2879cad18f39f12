"""The counter invariant of the degree eras (3.19 - 5.19, 7a3ef208e662 until
2555283eb40d): the model's VM_BUG_ON for ``anon_vma->degree``.

    I-12  degree = the VMAs using the anon_vma as their vma->anon_vma
          + its child anon_vmas whose tree is not empty, itself included
          if it is a root (its "self-parent link"); never negative

A child counts while its interval tree is non-empty because that is when
unlink_anon_vmas() drops ``anon_vma->parent->degree``.  The kernel checks
only the end of it (``VM_WARN_ON(anon_vma->degree)`` before the last put);
a wrong count shows up much earlier here, at the line that made it wrong.
"""

from __future__ import annotations

from collections import Counter

from ..kernel.mm.interval_tree import anon_vma_interval_tree_empty


def check_degree(kernel, anon_vmas, vmas) -> list[str]:
    """``anon_vmas``: the live anon_vmas; ``vmas``: (task, vma) for every VMA
    of every live mm.  One line per anon_vma whose degree is wrong."""
    active = Counter(id(vma.anon_vma) for _tsk, vma in vmas if vma.anon_vma is not None)
    children = Counter(id(av.parent) for av in anon_vmas
                       if not anon_vma_interval_tree_empty(av.rb_root))
    bad = []
    for number, av in enumerate(anon_vmas, 1):
        name = f"anon_vma #{number}"
        expect = active[id(av)] + children[id(av)]
        if av.degree < 0:
            bad.append(f"I-12: {name} degree={av.degree} is negative")
        elif av.degree != expect:
            bad.append(f"I-12: {name} degree={av.degree}, but {active[id(av)]} VMAs use it and "
                       f"{children[id(av)]} live children (itself included if a root) name it parent")
    return bad
