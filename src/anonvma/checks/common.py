"""What every era's invariants share: the VMAs of the live mms, the
anon_vma_chain rules that hold since 2.6.34 (I-1, I-2, I-3, I-9), rmap
completeness (I-6, I-7) and the leak check.  The checks read the structures
only and take no locks: locks are scheduling points and lockdep events, so
checking would steer the run; the state they read is quiescent.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from ..kernel.include.mm import PAGE_SHIFT, vma_address
from ..kernel.mm.memory import pte_range


def live_vmas(kernel):
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


def check_rmap(kernel, vmas, walk) -> list[str]:
    """I-6 and I-7: the page tables and rmap agree, folio by folio.
    ``walk(anon_vma, pgoff)`` gives the AVCs an rmap walk from a folio at
    ``pgoff`` visits, in the era's layout."""
    bad = []
    mapped = defaultdict(set)          # folio -> {(mm id, vma id, address)}
    swap_refs = Counter()              # swap slot -> swap PTEs pointing at it
    for _tsk, vma in vmas:
        mm = vma.vm_mm
        for vpn, pte in pte_range(mm, vma.vm_start, vma.vm_end):
            if pte.marker:
                continue                # a guard page: no page, no slot
            if not pte.present:
                swap_refs[pte.offset] += 1
                if vma.anon_vma is None:
                    bad.append(f"I-7: a swap PTE at {vpn << PAGE_SHIFT:#x} in a VMA without anon_vma")
            elif pte.folio is not kernel.zero_folio:
                mapped[pte.folio].add((id(mm), id(vma), vpn << PAGE_SHIFT))
    si = kernel.swap_info
    if si is not None:
        for offset in sorted(si.swap_map.keys() | swap_refs.keys()):
            count = si.swap_map.get(offset, 0)
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
        found = set(rmap_reach(kernel, folio, walk(av, folio.index)))
        if found != maps:
            missing = len(maps - found)
            extra = len(found - maps)
            bad.append(f"I-6: rmap from {where} misses {missing} and invents {extra} mappings")
    return bad


def check_chains(vmas, avcs, in_anon_vma, root_last: bool = True) -> list[str]:
    """I-1, I-2, I-3 and I-9, and I-8 for what the chains reach: the rules of
    every era since anon_vma_chain (2.6.34).  ``in_anon_vma(where, avc)``
    checks the era's other half of I-1, that the AVC sits in its anon_vma's
    interval tree (6.18) or list (3.0), and returns the problems.
    ``root_last``: the era keeps the root at the chain's tail (I-3's second
    half; not 7.0, whose clone reverses the chain)."""
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
            if len(roots) != 1 or (root_last and chain[-1].anon_vma is not av.root):
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


def rmap_reach(kernel, folio, avcs):
    """The mappings of ``folio`` that an rmap walk over ``avcs`` finds, as
    rmap_walk_anon() would, without its locks."""
    for avc in avcs:
        vma = avc.vma
        address = vma_address(vma, folio.index, 1)
        if address >= 0 and kernel.page_vma_mapped(folio, vma, address):
            yield id(vma.vm_mm), id(vma), address


def swap_cache_orphans(kernel) -> list:
    """Folios only the swap cache holds: unmapped, no swap PTE left for
    their slot, on the LRU.  An unmapping leaves one behind when its
    free_swap_cache() cannot trylock the folio because reclaim holds it and
    then keeps it (an anon_vma lock contended in folio_referenced()): a
    trylock, not a wait, on the page release path (mm/swap_state.c).  The
    next reclaim that reaches the folio frees it: memory in use, not
    leaked."""
    si = kernel.swap_info
    if si is None:
        return []
    return [f for offset, f in si.swap_cache.items()
            if f._refcount == 1 and not kernel.folio_mapped(f)
            and offset not in si.swap_map and f in kernel.lru]


def check_all_freed(kernel) -> list[str]:
    """When the last process has exited, nothing of its memory may remain
    but what reclaim frees when it gets to it."""
    bad = []
    for cache in kernel.slab_caches:
        if cache.live:
            bad.append(f"leak: {len(cache.live)} {cache.name} objects still allocated "
                       "after every process exited")
    leaked = kernel.nr_folios - len(swap_cache_orphans(kernel))
    if leaked:
        bad.append(f"leak: {leaked} folios still allocated after every process exited")
    return bad
