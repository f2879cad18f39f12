"""The invariant check's shortcuts report what the invariants' plain
statements report, on every corruption the checks are tested with.

check_rmap() does not walk rmap per folio (common.py): it counts a folio's
missed mappings from the VMAs its walk visits, and walks as
rmap_walk_anon() would only the AVCs of VMAs outside what the PTE scan
covered.  check_chains() counts its lines per chain from one set.  Here the
states of generated programs and of a directed one are corrupted after
steps (test_scoped.py's corruptions, and ones aimed at the walk's
shortcut: a VMA out of its mm's tree with its chain and PTEs left, a range
not page-aligned), on the list era (3.0) and the tree era (6.18), and after
each step the check's lines are compared with:

* I-6's rmap half as kernel-semantics.md states it: rmap_walk_anon() from
  each mapped folio, over every AVC of the walk, finds exactly the PTEs
  that map it (a line per folio for which it does not, with the counts);
* for each VMA, scoped.chain_sound(): whether check_chains() has a line
  naming that VMA;
* I-1's "a live AVC is on one chain" and I-9, counted over the chains.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from anonvma.checks.common import live_vmas, rmap_reach
from anonvma.checks.invariants import check_invariants, in_tree, interval_tree_walk
from anonvma.checks.invariants_3_0 import in_list, list_walk
from anonvma.checks.scoped import chain_sound
from anonvma.explore.programs import Choices, generate
from anonvma.kernel.include.mm import PAGE_SHIFT, PAGE_SIZE
from anonvma.kernel.mm.memory import pte_range
from anonvma.scenario import parse
from anonvma.session import Config, Session
from test_scoped import CORRUPTIONS, DIRECTED, _eras_of, _pick


def out_of_its_tree(kernel, vma, rng):
    """Gone from its mm's VMA tree, its chain, AVCs and PTEs left: a walk
    reaches a VMA no live mm has."""
    vma.vm_mm.mm_mt.erase(vma)


def end_unaligned(kernel, vma, rng):
    vma.vm_end -= PAGE_SIZE // 2


def start_unaligned(kernel, vma, rng):
    vma.vm_start += PAGE_SIZE // 2


WALK_CORRUPTIONS = [out_of_its_tree, end_unaligned, start_unaligned]
ERAS = ["v3.0", "v6.18"]


def rmap_lines(kernel) -> list[str]:
    """I-6 by its statement, for the folios the PTEs map, in PTE order."""
    walk = list_walk if kernel.rmap_layout == "list" else interval_tree_walk
    ptes: dict = {}
    for _tsk, vma in live_vmas(kernel):
        for vpn, pte in pte_range(vma.vm_mm, vma.vm_start, vma.vm_end):
            if pte.present and pte.folio is not kernel.zero_folio:
                ptes.setdefault(pte.folio, set()).add((vma, vpn << PAGE_SHIFT))
    lines = []
    for folio, maps in ptes.items():
        av = folio.mapping
        if folio.freed or av is None or av.freed:
            continue
        found = set(rmap_reach(kernel, folio, walk(av, folio.index)))
        if found != maps:
            lines.append(f"I-6: rmap from folio pfn {folio.pfn:#x} misses {len(maps - found)} "
                         f"and invents {len(found - maps)} mappings")
    return lines


def where(tsk, vma) -> str:
    return f"{tsk.comm} vma {vma.vm_start:#x}-{vma.vm_end:#x}"


def compare(kernel) -> list[str]:
    """The check's lines, asserted against the statements above."""
    problems = check_invariants(kernel)
    assert [p for p in problems if p.startswith("I-6: rmap from")] == rmap_lines(kernel)
    vmas = live_vmas(kernel)
    in_anon_vma = in_list if kernel.rmap_layout == "list" else in_tree
    unsound = {where(tsk, vma) for tsk, vma in vmas
               if not chain_sound(vma, in_anon_vma, kernel.chain_root_last)}
    named = {w for w in (where(tsk, vma) for tsk, vma in vmas)
             if any(f": {w} " in p for p in problems)}
    assert named == unsound
    holders = Counter(avc for _tsk, vma in vmas for avc in vma.anon_vma_chain)
    assert [p for p in problems if p.startswith("I-1: a live AVC is on")] == [
        f"I-1: a live AVC is on {holders[avc]} VMA chains (leaked or shared)"
        for avc in kernel.anon_vma_chain_cachep.live if holders[avc] != 1]
    chains = {}
    for _tsk, vma in vmas:
        if vma.anon_vma is not None:
            chains.setdefault(id(vma.anon_vma), set()).add(
                frozenset(id(avc.anon_vma) for avc in vma.anon_vma_chain))
    assert ("I-9: VMAs sharing one anon_vma have different chains" in problems) == any(
        len(sets) > 1 for sets in chains.values())
    return problems


def run(text: str, era: str, inject) -> tuple[list, list]:
    """Every step of ``text``: ``inject(machine, step)`` corrupts, then the
    comparison.  Returns what the check reported and what was injected."""
    machine = Session(parse(text), Config(variant=era, checks=False, lockdep=False,
                                          trace=False)).boot()
    reported, injected, differ = [], [], []

    def after(step):
        injected.extend(inject(machine, step))
        try:
            reported.extend(compare(machine.kernel))
        except AssertionError as e:
            differ.append((step.lineno, injected[:], e))

    machine.kernel.trace.scenario_step.register(after)
    try:
        machine.run()
    except Exception:
        pass                # the corrupted kernel tripped over its own state
    assert not differ, (text, differ[0])
    return reported, injected


@pytest.mark.parametrize("era", ERAS)
def test_generated_programs_with_corruptions(era):
    lines = Counter()
    kinds = set()
    for seed in range(25):
        text = generate(Choices(seed), max_ops=40)
        rng = random.Random(seed)

        def inject(machine, step, rng=rng):
            if rng.random() >= 0.2:
                return []
            vma = _pick([vma for _tsk, vma in live_vmas(machine.kernel)], rng)
            corruption = _pick(CORRUPTIONS + WALK_CORRUPTIONS, rng)
            if vma is None:
                return []
            corruption(machine.kernel, vma, rng)
            return [corruption.__name__]

        reported, injected = run(text, era, inject)
        kinds.update(injected)
        lines.update(p.split(":")[0] for p in reported)
    # the comparison meant something: many kinds of corruption, and rmap
    # lines among what they made the check report
    assert len(kinds) >= 15 and {c.__name__ for c in WALK_CORRUPTIONS} <= kinds, kinds
    assert lines["I-6"] >= 10 and lines["I-1"] >= 10, lines


@pytest.mark.parametrize("corruption, era",
                         [(c, era) for c in CORRUPTIONS + WALK_CORRUPTIONS for era in _eras_of(c)],
                         ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_each_corruption(corruption, era):
    """Each kind alone, into one VMA with an anon_vma of the directed
    program after its line 12, then its remaining lines."""
    reported = []
    for seed in range(8):
        rng = random.Random(seed)

        def inject(machine, step):
            if step.lineno != 12:
                return []
            mm = machine.runner.procs[rng.choice(("P1", "P2"))].task.mm
            vma = _pick([vma for vma in mm.mm_mt if vma.anon_vma is not None], rng)
            corruption(machine.kernel, vma, rng)
            return [corruption.__name__]

        reported += run(DIRECTED, era, inject)[0]
    assert reported


def test_a_walk_through_a_vma_out_of_its_tree_invents_its_mappings():
    """P0's VMA leaves its maple tree with its PTEs and chain: rmap from
    each folio it maps finds one mapping more than the live page tables
    have (the forked P1 maps the folios too)."""
    text = "P0 mmap 0 4\nP0 write 0\nP0 write 1\nP0 fork P1\n"
    found = {}
    for era in ERAS:
        def inject(machine, step):
            if step.lineno == 4:
                mm = machine.runner.procs["P0"].task.mm
                out_of_its_tree(machine.kernel, next(iter(mm.mm_mt)), None)
                return ["out_of_its_tree"]
            return []

        reported, _ = run(text, era, inject)
        found[era] = [p for p in reported if p.startswith("I-6: rmap")]
    for era in ERAS:
        assert len(found[era]) >= 2 and all(p.endswith("misses 0 and invents 1 mappings")
                                            for p in found[era]), found
