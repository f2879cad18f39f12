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

from collections import Counter, defaultdict

from .invariants import _check_rmap, _vmas


def check_invariants_3_0(kernel) -> list[str]:
    bad: list[str] = []
    anon_vmas = kernel.anon_vma_cachep.live
    avcs = kernel.anon_vma_chain_cachep.live
    vmas = _vmas(kernel)

    on_chain = Counter()
    for tsk, vma in vmas:
        where = f"{tsk.comm} vma {vma.vm_start:#x}-{vma.vm_end:#x}"
        if vma.freed:
            bad.append(f"I-8: {where} is a freed vm_area_struct still in the VMA tree")
        chain = vma.anon_vma_chain
        if any(n > 1 for n in Counter(id(avc.anon_vma) for avc in chain).values()):
            bad.append(f"I-1: {where} has two AVCs for one anon_vma")
        for avc in chain:
            on_chain[avc] += 1
            if avc.freed:
                bad.append(f"I-8: {where} has a freed AVC on its chain")
            if avc.vma is not vma:
                bad.append(f"I-1: {where} has an AVC of another VMA on its chain")
            if avc.anon_vma is None or avc.anon_vma.freed:
                bad.append(f"I-8: {where} has an AVC whose anon_vma is freed")
            elif avc not in avc.anon_vma.head:
                bad.append(f"I-1: {where} has an AVC missing from its anon_vma's list")
        av = vma.anon_vma
        if (av is None) != (not chain):
            bad.append(f"I-2: {where} anon_vma is {'NULL' if av is None else 'set'} "
                       f"but its chain has {len(chain)} AVCs")
        if av is not None and chain:
            if av.freed:
                bad.append(f"I-8: {where} points at a freed anon_vma")
            if not any(avc.anon_vma is av for avc in chain):
                bad.append(f"I-2: {where} anon_vma is not on its own chain")
            roots = {id(avc.anon_vma.root) for avc in chain if avc.anon_vma is not None}
            if len(roots) != 1 or chain[-1].anon_vma is not av.root:
                bad.append(f"I-3: {where} chain does not end at its single root")

    for avc in avcs:
        if on_chain[avc] != 1:
            bad.append(f"I-1: a live AVC is on {on_chain[avc]} VMA chains (leaked or shared)")

    chains_of = defaultdict(set)
    for _tsk, vma in vmas:
        if vma.anon_vma is not None:
            chains_of[id(vma.anon_vma)].add(frozenset(id(avc.anon_vma) for avc in vma.anon_vma_chain))
    if any(len(sets) > 1 for sets in chains_of.values()):
        bad.append("I-9: VMAs sharing one anon_vma have different chains")

    pinned_root = Counter(id(av.root) for av in anon_vmas if av.root is not av)
    for av in anon_vmas:
        name = f"anon_vma@{id(av):#x}"
        if av.root.freed:
            bad.append(f"I-8: {name} has a freed root")
        expect = (1 if av.head else 0) + pinned_root[id(av)]
        if av.refcount != expect:
            bad.append(f"I-8a: {name} refcount={av.refcount}, expected {expect} "
                       f"(list {'non-' if av.head else ''}empty, {pinned_root[id(av)]} pinning it as root)")
        for avc in av.head:
            if avc.freed or avc.anon_vma is not av:
                bad.append(f"I-1: {name} has a foreign or freed AVC in its list")

    bad.extend(_check_rmap(kernel, vmas))
    return bad
