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

from collections import Counter, defaultdict

from ..kernel.include.mm import PAGE_SHIFT, vma_address
from ..kernel.mm.memory import pte_range
from ..kernel.mm.interval_tree import (
    anon_vma_interval_tree_empty, anon_vma_interval_tree_foreach, anon_vma_interval_tree_verify,
)


def _vmas(kernel):
    """(task, vma) for every VMA of every live mm, each mm once (threads
    share theirs)."""
    seen = set()
    out = []
    for tsk in kernel.tasks:
        mm = tsk.mm
        if mm is None or id(mm) in seen:
            continue
        seen.add(id(mm))
        out.extend((tsk, vma) for vma in mm.mm_mt)
    return out


def check_invariants(kernel) -> list[str]:
    if "head" in kernel.anon_vma_cachep.object_type.__slots__:
        # An era before the interval tree (3.7) and anon_vma reuse (3.19).
        from .invariants_3_0 import check_invariants_3_0
        return check_invariants_3_0(kernel)
    bad: list[str] = []
    anon_vmas = kernel.anon_vma_cachep.live
    avcs = kernel.anon_vma_chain_cachep.live
    vmas = _vmas(kernel)

    def in_tree(where, avc):
        if avc.rb is None:
            return [f"I-1: {where} has an AVC missing from its anon_vma's tree"]
        if not anon_vma_interval_tree_verify(avc):
            return [f"I-4: {where} has an AVC keyed by a stale range"]
        return []

    bad.extend(check_chains(vmas, avcs, in_tree))

    # The era's counters: none before 3.19, degree until 6.0, then these.
    counters = getattr(kernel, "rmap_counters", "num_children")
    if counters == "degree":
        from .invariants_degree import check_degree
        bad.extend(check_degree(kernel, anon_vmas, vmas))

    # I-10, I-11, I-8a over every live anon_vma
    active = Counter(id(vma.anon_vma) for _t, vma in vmas if vma.anon_vma is not None)
    live_children = Counter()
    pinned_root = Counter()
    for av in anon_vmas:
        if counters == "num_children" and not anon_vma_interval_tree_empty(av.rb_root):
            live_children[id(av.parent)] += 1
        if av.root is not av:
            pinned_root[id(av.root)] += 1
    for av in anon_vmas:
        name = f"anon_vma@{id(av):#x}"
        if av.root.freed or (counters and av.parent.freed):
            bad.append(f"I-8: {name} has a freed {'root' if av.root.freed else 'parent'}")
        if counters == "num_children" and av.num_active_vmas != active[id(av)]:
            bad.append(f"I-10: {name} num_active_vmas={av.num_active_vmas}, "
                       f"but {active[id(av)]} VMAs point at it")
        if counters == "num_children" and av.num_children != live_children[id(av)]:
            bad.append(f"I-11: {name} num_children={av.num_children}, "
                       f"but {live_children[id(av)]} live children (itself included if a root)")
        initial = 0 if anon_vma_interval_tree_empty(av.rb_root) else 1
        expect = initial + pinned_root[id(av)]
        if av.refcount != expect:
            bad.append(f"I-8a: {name} refcount={av.refcount}, expected {expect} "
                       f"(tree {'non-' if initial else ''}empty, {pinned_root[id(av)]} pinning it as root)")
        for avc in av.rb_root:
            if avc.freed or avc.anon_vma is not av:
                bad.append(f"I-1: {name} has a foreign or freed AVC in its tree")

    bad.extend(_check_rmap(kernel, vmas))
    return bad


def _check_rmap(kernel, vmas) -> list[str]:
    """I-6: the page tables and rmap agree, folio by folio."""
    bad = []
    mapped = defaultdict(set)          # folio -> {(mm id, vma id, address)}
    swap_refs = Counter()              # swap slot -> swap PTEs pointing at it
    for _tsk, vma in vmas:
        mm = vma.vm_mm
        for vpn, pte in pte_range(mm, vma.vm_start, vma.vm_end):
            if not pte.present:
                swap_refs[pte.offset] += 1
                if vma.anon_vma is None:
                    bad.append(f"I-7: a swap PTE at {vpn << PAGE_SHIFT:#x} in a VMA without anon_vma")
            elif pte.folio is not kernel.zero_folio:
                mapped[pte.folio].add((id(mm), id(vma), vpn << PAGE_SHIFT))
    si = kernel.swap_info
    if si is not None:
        for offset, count in enumerate(si.swap_map):
            if count != swap_refs[offset]:
                bad.append(f"I-7: swap slot {offset} counts {count} PTEs, {swap_refs[offset]} point at it")
        for offset, folio in si.swap_cache.items():
            if folio.freed or folio.swap != offset:
                bad.append(f"I-7: the swap cache holds a freed or misfiled folio at slot {offset}")
    for folio, maps in mapped.items():
        where = f"folio pfn {folio.pfn:#x}"
        if folio.freed:
            bad.append(f"I-8: {where} is mapped but freed")
            continue
        if folio._mapcount + 1 != len(maps):
            bad.append(f"I-6: {where} mapcount {folio._mapcount + 1} but {len(maps)} PTEs map it")
        av = folio.mapping
        if av is None or av.freed:
            bad.append(f"I-8: {where} is mapped but its anon_vma is {'NULL' if av is None else 'freed'}")
            continue
        found = set(_rmap_reach(kernel, folio, av))
        if found != maps:
            missing = len(maps - found)
            extra = len(found - maps)
            bad.append(f"I-6: rmap from {where} misses {missing} and invents {extra} mappings")
    return bad


def check_chains(vmas, avcs, in_anon_vma) -> list[str]:
    """I-1, I-2, I-3 and I-9, and I-8 for what the chains reach: the rules of
    every era since anon_vma_chain (2.6.34).  ``in_anon_vma(where, avc)``
    checks the era's other half of I-1, that the AVC sits in its anon_vma's
    interval tree (6.18) or list (3.0), and returns the problems."""
    bad = []
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
            else:
                bad.extend(in_anon_vma(where, avc))
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
    # I-9: same anon_vma => same set of anon_vmas on the chain
    chains_of = defaultdict(set)
    for _tsk, vma in vmas:
        if vma.anon_vma is not None:
            chains_of[id(vma.anon_vma)].add(frozenset(id(avc.anon_vma) for avc in vma.anon_vma_chain))
    if any(len(sets) > 1 for sets in chains_of.values()):
        bad.append("I-9: VMAs sharing one anon_vma have different chains")
    return bad


def _rmap_reach(kernel, folio, av):
    """What rmap_walk_anon() finds from ``folio``: the same interval tree
    query (or, in the list era, the whole ``head`` list), without its locks:
    a checker must not take locks, which are scheduling points and lockdep
    events, and the state is quiescent."""
    rb_root = getattr(av, "rb_root", None)
    avcs = av.head if rb_root is None else \
        anon_vma_interval_tree_foreach(rb_root, folio.index, folio.index)
    for avc in avcs:
        vma = avc.vma
        address = vma_address(vma, folio.index, 1)
        if address >= 0 and kernel.page_vma_mapped(folio, vma, address):
            yield id(vma.vm_mm), id(vma), address


def check_all_freed(kernel) -> list[str]:
    """When the last process has exited, nothing of its memory may remain."""
    bad = []
    for cache in kernel.slab_caches:
        if cache.live:
            bad.append(f"leak: {len(cache.live)} {cache.name} objects still allocated "
                       "after every process exited")
    if kernel.nr_folios:
        bad.append(f"leak: {kernel.nr_folios} folios still allocated after every process exited")
    return bad
