"""The anon_vma hierarchy as text: every fork tree from its root down, each
anon_vma with its counters and the VMAs its interval tree holds.

    AV1 root  refcount 2, num_children 2, num_active_vmas 1
    │   tree: P0 [0x0-0x4), P1 [0x0-0x4)
    └── AV2  refcount 1, num_children 0, num_active_vmas 1
            tree: P1 [0x0-0x4)

Addresses are pages from the scenario base, as scenarios write them.
"""

from __future__ import annotations

from ..kernel.include.mm import PAGE_SHIFT
from ..scenario import BASE, SCENARIO_END


def _range(vma) -> str:
    if BASE <= vma.vm_start < SCENARIO_END:
        return f"[{(vma.vm_start - BASE) >> PAGE_SHIFT}-{(vma.vm_end - BASE) >> PAGE_SHIFT})"
    return "[stack]"


def render_hierarchy(kernel, name_of) -> list[str]:
    """Lines picturing every live anon_vma.  ``name_of(anon_vma)`` names
    them (the trace sink's AVn numbers, so the picture matches the trace)."""
    owner = {}
    for tsk in kernel.tasks:
        if tsk.mm is not None:
            owner.setdefault(id(tsk.mm), tsk.comm)
    live = list(kernel.anon_vma_cachep.live)
    children = {}
    for av in live:
        if av.parent is not av:
            children.setdefault(id(av.parent), []).append(av)
    out = []

    def describe(av, prefix: str, last: bool, is_root: bool) -> None:
        branch = "" if is_root else ("└── " if last else "├── ")
        kind = " root" if is_root else ""
        out.append(f"{prefix}{branch}{name_of(av)}{kind}  refcount {av.refcount}, "
                   f"num_children {av.num_children}, num_active_vmas {av.num_active_vmas}")
        inner = prefix + ("" if is_root else ("    " if last else "│   "))
        kids = sorted(children.get(id(av), []), key=name_of)
        vmas = ", ".join(f"{owner.get(id(avc.vma.vm_mm), '?')} {_range(avc.vma)}" for avc in av.rb_root)
        out.append(f"{inner}{'│   ' if kids else '    '}tree: {vmas or '(empty)'}")
        for i, kid in enumerate(kids):
            describe(kid, inner, i == len(kids) - 1, False)

    for root in sorted((av for av in live if av.parent is av), key=name_of):
        describe(root, "", True, True)
    return out
