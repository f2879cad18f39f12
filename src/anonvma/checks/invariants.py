"""The model's VM_BUG_ONs: every invariant of kernel-semantics.md §4.

``check_invariants(kernel)`` walks the whole state of a quiescent kernel
(no operation in progress) and returns one line per violation, naming the
invariant.  It reads the structures only; running it changes nothing.

    I-1   every AVC is on its VMA's chain and in its anon_vma's tree, once
    I-2   vma->anon_vma is NULL iff the chain is empty, and is on the chain
    I-3   one root per chain, the root last
    I-4   every AVC is keyed by its VMA's current range
    I-6   rmap completeness: rmap_walk_anon() from each folio finds exactly
          the PTEs that map it, and folio mapcounts match the page tables
    I-8   nothing reachable is freed; refcounts decompose as §4 says
    I-9   VMAs sharing an anon_vma have the same chain
    I-10  num_active_vmas counts the VMAs pointing at the anon_vma
    I-11  num_children counts the live children (and a root itself)
"""

from __future__ import annotations

from collections import Counter

from ..kernel.mm.interval_tree import (
    anon_vma_interval_tree_empty, anon_vma_interval_tree_foreach, anon_vma_interval_tree_verify,
)
from .common import check_all_freed, check_chains, check_rmap, live_vmas
from .invariants_3_0 import check_invariants_3_0
from .invariants_degree import check_degree


def check_invariants(kernel) -> list[str]:
    """Every invariant of the kernel's era, as the era declares its rmap."""
    if kernel.rmap_layout == "list":
        return check_invariants_3_0(kernel)
    return check_invariants_interval_tree(kernel)


def interval_tree_walk(av, pgoff):
    return anon_vma_interval_tree_foreach(av.rb_root, pgoff, pgoff)


def in_tree(where, avc):
    """The interval tree's half of I-1, and I-4."""
    if avc.rb is None:
        return [f"I-1: {where} has an AVC missing from its anon_vma's tree"]
    if not anon_vma_interval_tree_verify(avc):
        return [f"I-4: {where} has an AVC keyed by a stale range"]
    return []


def check_invariants_interval_tree(kernel, vmas=None, avc_part: bool = True) -> list[str]:
    """3.7+: the interval tree, and (6.0+) num_children/num_active_vmas.
    ``avc_part=False`` leaves out what reads the anon_vma_chains (the chains
    and the trees' contents), for a caller that knows it has nothing to say
    (scoped.py); ``vmas``: live_vmas(kernel), if the caller has it."""
    bad: list[str] = []
    anon_vmas = kernel.anon_vma_cachep.live
    avcs = kernel.anon_vma_chain_cachep.live
    if vmas is None:
        vmas = live_vmas(kernel)

    if avc_part:
        bad.extend(check_chains(vmas, avcs, in_tree, kernel.chain_root_last))

    # The era's counters: none before 3.19, degree until 6.0, then
    # num_children and num_active_vmas (I-10, I-11); I-8a for all.
    counters = kernel.rmap_counters
    if counters == "degree":
        bad.extend(check_degree(kernel, anon_vmas, vmas))

    # counts by anon_vma (plain dicts: a Counter's missing key is a call)
    active = Counter(id(vma.anon_vma) for _t, vma in vmas if vma.anon_vma is not None)
    live_children: dict = {}
    pinned_root: dict = {}
    for av in anon_vmas:
        if counters == "num_children" and not anon_vma_interval_tree_empty(av.rb_root):
            key = id(av.parent)
            live_children[key] = live_children.get(key, 0) + 1
        if av.root is not av:
            key = id(av.root)
            pinned_root[key] = pinned_root.get(key, 0) + 1
    for number, av in enumerate(anon_vmas, 1):
        name = f"anon_vma #{number}"
        key = id(av)
        if av.root.freed or (counters and av.parent.freed):
            bad.append(f"I-8: {name} has a freed {'root' if av.root.freed else 'parent'}")
        if counters == "num_children" and av.num_active_vmas != active.get(key, 0):
            bad.append(f"I-10: {name} num_active_vmas={av.num_active_vmas}, "
                       f"but {active.get(key, 0)} VMAs point at it")
        if counters == "num_children" and av.num_children != live_children.get(key, 0):
            bad.append(f"I-11: {name} num_children={av.num_children}, "
                       f"but {live_children.get(key, 0)} live children (itself included if a root)")
        initial = 0 if anon_vma_interval_tree_empty(av.rb_root) else 1
        pinning = pinned_root.get(key, 0)
        expect = initial + pinning
        if av.refcount != expect:
            bad.append(f"I-8a: {name} refcount={av.refcount}, expected {expect} "
                       f"(tree {'non-' if initial else ''}empty, {pinning} pinning it as root)")
        if avc_part:
            for avc in av.rb_root:
                if avc.freed or avc.anon_vma is not av:
                    bad.append(f"I-1: {name} has a foreign or freed AVC in its tree")

    bad.extend(check_rmap(kernel, vmas, interval_tree_walk))
    return bad


__all__ = ["check_all_freed", "check_invariants"]
