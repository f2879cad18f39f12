"""What every era's invariants share: the VMAs of the live mms, the
anon_vma_chain rules that hold since 2.6.34 (I-1, I-2, I-3, I-9), rmap
completeness (I-6, I-7) and the leak check.  The checks read the structures
only and take no locks: locks are scheduling points and lockdep events, so
checking would steer the run; the state they read is quiescent.
"""

from __future__ import annotations

from collections import Counter

from ..kernel.include.mm import PAGE_MASK, PAGE_SHIFT, vma_address
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


def check_rmap(kernel, vmas, walk, by_index: bool = True) -> list[str]:
    """I-6 and I-7: the page tables and rmap agree, folio by folio.
    ``walk(anon_vma, pgoff)`` gives the AVCs an rmap walk from a folio at
    ``pgoff`` visits, in the era's layout; ``by_index=False``: the same AVCs
    whatever ``pgoff`` (3.0's list), so the walk is taken once per anon_vma.

    A folio's rmap walk finds a mapping (vma, address) for each AVC whose
    VMA maps the folio at vma_address() (rmap_reach(); the mm is the VMA's
    in the scan and in the walk); the check is that these are exactly the
    PTEs the scan of the live mms' page tables found mapping it.  It is
    computed without visiting each AVC for each folio.  A mapping the scan
    found is one the walk finds iff the walk visits its VMA and
    vma_address() there is its address.  And a walk can invent a mapping
    only through a VMA the scan did not cover in full, one outside the live
    mms or with a range not page-aligned: an address vma_address() gives is
    in its VMA's range and, for a page-aligned range, one the scan of that
    VMA read.  Only the AVCs of such VMAs are walked as rmap_walk_anon()
    would."""
    bad = []
    mapped = {}                        # folio -> {(vma, address)}, in the order found
    swap_refs = Counter()              # swap slot -> swap PTEs pointing at it
    in_full = set()                    # live VMAs with a page-aligned range
    zero_folio = kernel.zero_folio
    for _tsk, vma in vmas:
        start, end = vma.vm_start, vma.vm_end
        if not (start | end) & ~PAGE_MASK:
            in_full.add(vma)
        for vpn, pte in pte_range(vma.vm_mm, start, end):
            if pte.marker:
                continue                # a guard page: no page, no slot
            if not pte.present:
                swap_refs[pte.offset] += 1
                if vma.anon_vma is None:
                    bad.append(f"I-7: a swap PTE at {vpn << PAGE_SHIFT:#x} in a VMA without anon_vma")
            elif (folio := pte.folio) is not zero_folio:
                maps = mapped.get(folio)
                if maps is None:
                    maps = mapped[folio] = set()
                maps.add((vma, vpn << PAGE_SHIFT))
    si = kernel.swap_info
    if si is not None:
        for offset in sorted(si.swap_map.keys() | swap_refs.keys()):
            count = si.swap_map.get(offset, 0)
            if count != swap_refs[offset]:
                bad.append(f"I-7: swap slot {offset} counts {count} PTEs, {swap_refs[offset]} point at it")
        for offset, folio in si.swap_cache.items():
            if folio.freed or folio.swap != offset:
                bad.append(f"I-7: the swap cache holds a freed or misfiled folio at slot {offset}")
    walks = {}      # (anon_vma, pgoff) or anon_vma -> (the VMAs it visits, its AVCs not in_full)
    for folio, maps in mapped.items():
        if folio.freed:
            bad.append(f"I-8: folio pfn {folio.pfn:#x} is mapped but freed")
            continue
        if folio._mapcount + 1 != len(maps):
            bad.append(f"I-6: folio pfn {folio.pfn:#x} mapcount {folio._mapcount + 1} "
                       f"but {len(maps)} PTEs map it")
        av = folio.mapping
        if av is None or av.freed:
            bad.append(f"I-8: folio pfn {folio.pfn:#x} is mapped but its anon_vma is "
                       f"{'NULL' if av is None else 'freed'}")
            continue
        index = folio.index
        key = (av, index) if by_index else av
        visited = walks.get(key)
        if visited is None:
            avcs = list(walk(av, index))
            visited = walks[key] = ({avc.vma for avc in avcs},
                                    [avc for avc in avcs if avc.vma not in in_full])
        vmas_visited, others = visited
        missing = 0
        for vma, address in maps:
            if vma not in vmas_visited or vma_address(vma, index, 1) != address:
                missing += 1
        extra = len(set(rmap_reach(kernel, folio, others)) - maps) if others else 0
        if missing or extra:
            bad.append(f"I-6: rmap from folio pfn {folio.pfn:#x} misses {missing} "
                       f"and invents {extra} mappings")
    return bad


class _Where:
    """How a problem names its VMA (``comm vma start-end``), formatted only
    into the text of a problem found: most VMAs have none."""

    __slots__ = ("tsk", "vma")

    def __init__(self, tsk, vma):
        self.tsk = tsk
        self.vma = vma

    def __format__(self, spec: str) -> str:
        vma = self.vma
        return format(f"{self.tsk.comm} vma {vma.vm_start:#x}-{vma.vm_end:#x}", spec)


def check_chains(vmas, avcs, in_anon_vma, root_last: bool = True) -> list[str]:
    """I-1, I-2, I-3 and I-9, and I-8 for what the chains reach: the rules of
    every era since anon_vma_chain (2.6.34).  ``in_anon_vma(where, avc)``
    checks the era's other half of I-1, that the AVC sits in its anon_vma's
    interval tree (6.18) or list (3.0), and returns the problems.
    ``root_last``: the era keeps the root at the chain's tail (I-3's second
    half; not 7.0, whose clone reverses the chain)."""
    bad = []
    on_chain = {}                      # AVC -> the chains holding it
    chains_of = {}                     # anon_vma id -> the sets of anon_vmas on its VMAs' chains
    for tsk, vma in vmas:
        where = _Where(tsk, vma)
        if vma.freed:
            bad.append(f"I-8: {where} is a freed vm_area_struct still in the VMA tree")
        chain = vma.anon_vma_chain
        on_it = {id(avc.anon_vma) for avc in chain}
        if len(on_it) != len(chain):
            bad.append(f"I-1: {where} has two AVCs for one anon_vma")
        for avc in chain:
            on_chain[avc] = on_chain.get(avc, 0) + 1
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
            if id(av) not in on_it:
                bad.append(f"I-2: {where} anon_vma is not on its own chain")
            roots = {id(avc.anon_vma.root) for avc in chain if avc.anon_vma is not None}
            if len(roots) != 1 or (root_last and chain[-1].anon_vma is not av.root):
                bad.append(f"I-3: {where} chain does not end at its single root")
        if av is not None:
            # I-9: same anon_vma => same set of anon_vmas on the chain
            chains_of.setdefault(id(av), set()).add(frozenset(on_it))
    for avc in avcs:
        if on_chain.get(avc, 0) != 1:
            bad.append(f"I-1: a live AVC is on {on_chain.get(avc, 0)} VMA chains (leaked or shared)")
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
            yield vma, address


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
