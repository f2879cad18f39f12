"""The invariants of kernel-semantics.md §4 for the eras before the interval
tree and before anon_vma reuse (2.6.34 - 3.6): ``anon_vma.head`` is a list,
and there are no ``parent``, ``num_children`` or ``num_active_vmas``.

    I-1   every AVC is on its VMA's chain and in its anon_vma's list, once
    I-2   vma->anon_vma is NULL iff the chain is empty, and is on the chain
          (VMAs in an mm only: 3.0's unlink leaves it set on dying VMAs)
    I-3   one root per chain, the root last
    I-6   rmap completeness, as in 6.18 (the walk is the era's list walk)
    I-8   nothing reachable is freed; refcount = initial reference (list
          non-empty) + anon_vmas pinning it as their root
    I-9   VMAs sharing an anon_vma have the same chain
"""

from __future__ import annotations

from collections import Counter

from .common import check_chains, check_rmap, live_vmas


def list_walk(av, pgoff):
    """3.0's walks visit every AVC of the anon_vma's list."""
    return av.head


def in_list(where, avc):
    """The list's half of I-1."""
    if avc not in avc.anon_vma.head:
        return [f"I-1: {where} has an AVC missing from its anon_vma's list"]
    return []


def check_invariants_3_0(kernel, vmas=None, avc_part: bool = True) -> list[str]:
    """``avc_part`` and ``vmas`` as for check_invariants_interval_tree()."""
    bad: list[str] = []
    anon_vmas = kernel.anon_vma_cachep.live
    avcs = kernel.anon_vma_chain_cachep.live
    if vmas is None:
        vmas = live_vmas(kernel)

    if avc_part:
        bad.extend(check_chains(vmas, avcs, in_list, kernel.chain_root_last))

    pinned_root = Counter(id(av.root) for av in anon_vmas if av.root is not av)
    for number, av in enumerate(anon_vmas, 1):
        name = f"anon_vma #{number}"
        if av.root.freed:
            bad.append(f"I-8: {name} has a freed root")
        expect = (1 if av.head else 0) + pinned_root[id(av)]
        if av.refcount != expect:
            bad.append(f"I-8a: {name} refcount={av.refcount}, expected {expect} "
                       f"(list {'non-' if av.head else ''}empty, {pinned_root[id(av)]} pinning it as root)")
        if avc_part:
            for avc in av.head:
                if avc.freed or avc.anon_vma is not av:
                    bad.append(f"I-1: {name} has a foreign or freed AVC in its list")

    bad.extend(check_rmap(kernel, vmas, list_walk, by_index=False))
    return bad
