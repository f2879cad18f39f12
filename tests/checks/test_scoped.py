"""The scoped check reports exactly what the full walk reports.

Generated programs run twice on each era, once checked in full and once
scoped, with the same corruptions injected after steps (before the checkers
look): into what the step's process owns, which the step touched, and into
other processes' VMAs, anon_vmas, AVCs and folios, which it did not.  Both
runs must give the same report list, word for word, and fail (when the
corrupted kernel trips over its own state) at the same place.
"""

from __future__ import annotations

import random
import re

import pytest

from anonvma.checks.common import live_vmas
from anonvma.explore.programs import Choices, generate
from anonvma.kernel.include.gfp import GFP_KERNEL
from anonvma.kernel.mm.interval_tree import (
    anon_vma_interval_tree_insert, anon_vma_interval_tree_remove,
)
from anonvma.kernel.mm.memory import pte_range
from anonvma.scenario import BASE, parse
from anonvma.session import Config, Session
from broken_eras import LeakyFork, LeakyUnlink


def _pick(items, rng):
    items = list(items)
    return items[rng.randrange(len(items))] if items else None


def _avc(kernel, vma, rng):
    return _pick(vma.anon_vma_chain, rng)


def _anon_vma(kernel, vma, rng):
    return _pick({avc.anon_vma for avc in vma.anon_vma_chain if avc.anon_vma is not None}
                 and [avc.anon_vma for avc in vma.anon_vma_chain if avc.anon_vma is not None],
                 rng)


def _folio(kernel, vma, rng):
    return _pick([pte.folio for _vpn, pte in pte_range(vma.vm_mm, vma.vm_start, vma.vm_end)
                  if pte.folio is not None and pte.folio is not kernel.zero_folio], rng)


def _other_anon_vma(kernel, rng):
    return _pick(kernel.anon_vma_cachep.live, rng)


def drop_from_chain(kernel, vma, rng):
    if (avc := _avc(kernel, vma, rng)) is not None:
        vma.anon_vma_chain.remove(avc)


def _linked(kernel, avc) -> bool:
    """The AVC is in its anon_vma's tree (its list, in the list eras)."""
    if kernel.rmap_layout == "list":
        return avc.anon_vma is not None and avc in avc.anon_vma.head
    return avc.rb is not None


def _unlink(kernel, avc) -> None:
    if kernel.rmap_layout == "list":
        del avc.anon_vma.head[avc]
    else:
        anon_vma_interval_tree_remove(avc, avc.rb)


def _link(kernel, avc, av) -> None:
    if kernel.rmap_layout == "list":
        av.head[avc] = None
    else:
        anon_vma_interval_tree_insert(avc, av.rb_root)


def drop_from_anon_vma(kernel, vma, rng):
    if (avc := _avc(kernel, vma, rng)) is not None and _linked(kernel, avc):
        _unlink(kernel, avc)


def move_to_other_anon_vma(kernel, vma, rng):
    """Into another anon_vma's tree: the chain still looks right (the AVC
    is in a tree), only that tree's contents are wrong."""
    other = _other_anon_vma(kernel, rng)
    if (avc := _avc(kernel, vma, rng)) is not None and _linked(kernel, avc) \
            and other is not avc.anon_vma:
        _unlink(kernel, avc)
        _link(kernel, avc, other)


def move_to_new_anon_vma(kernel, vma, rng):
    """Into the empty tree of a new anon_vma, as its root node."""
    if (avc := _avc(kernel, vma, rng)) is not None and _linked(kernel, avc):
        other = kernel.anon_vma_alloc()
        _unlink(kernel, avc)
        _link(kernel, avc, other)


def free_left_in_anon_vma(kernel, vma, rng):
    """Off its chain and freed, but still in its anon_vma's tree."""
    if (avc := _avc(kernel, vma, rng)) is not None and _linked(kernel, avc):
        vma.anon_vma_chain.remove(avc)
        kernel.kmem_cache_free(kernel.anon_vma_chain_cachep, avc)


def duplicate_on_chain(kernel, vma, rng):
    if (avc := _avc(kernel, vma, rng)) is not None:
        vma.anon_vma_chain.insert(0, avc)


def reverse_chain(kernel, vma, rng):
    vma.anon_vma_chain.reverse()


def counter(field, delta):
    def bump(kernel, vma, rng):
        if (av := _anon_vma(kernel, vma, rng)) is not None and hasattr(av, field):
            setattr(av, field, getattr(av, field) + delta)
    bump.__name__ = f"{field}{delta:+d}"
    return bump


def point_vma_elsewhere(kernel, vma, rng):
    vma.anon_vma = _other_anon_vma(kernel, rng)


def point_vma_up_its_chain(kernel, vma, rng):
    """At an ancestor its chain names: the chain passes, I-9 and I-10 not."""
    if (av := _anon_vma(kernel, vma, rng)) is not None:
        vma.anon_vma = av


def share_vma_with_other_mm(kernel, vma, rng):
    """Into another mm's VMA tree too, where that range is free."""
    mms = {id(tsk.mm): tsk.mm for tsk in kernel.tasks if tsk.mm not in (None, vma.vm_mm)}
    free = [mm for mm in mms.values() if not list(mm.mm_mt.range(vma.vm_start, vma.vm_end))]
    if (mm := _pick(free, rng)) is not None:
        mm.mm_mt.store(vma)


def point_avc_elsewhere(kernel, vma, rng):
    if (avc := _avc(kernel, vma, rng)) is not None:
        avc.anon_vma = _other_anon_vma(kernel, rng)


def other_root(kernel, vma, rng):
    if (av := _anon_vma(kernel, vma, rng)) is not None:
        av.root = _other_anon_vma(kernel, rng)


def free_linked_avc(kernel, vma, rng):
    if (avc := _avc(kernel, vma, rng)) is not None and not avc.freed:
        kernel.kmem_cache_free(kernel.anon_vma_chain_cachep, avc)


def free_vma(kernel, vma, rng):
    vma.freed = True


def stale_range(kernel, vma, rng):
    vma.vm_pgoff += 1


def stale_mapping(kernel, vma, rng):
    if (folio := _folio(kernel, vma, rng)) is not None:
        folio.mapping = _other_anon_vma(kernel, rng)


def mapcount(kernel, vma, rng):
    if (folio := _folio(kernel, vma, rng)) is not None:
        folio._mapcount += 1


def leak_avc(kernel, vma, rng):
    kernel.anon_vma_chain_alloc(GFP_KERNEL)


def leak_anon_vma(kernel, vma, rng):
    kernel.anon_vma_alloc()


CORRUPTIONS = [
    drop_from_chain, drop_from_anon_vma, move_to_other_anon_vma, move_to_new_anon_vma,
    free_left_in_anon_vma,
    duplicate_on_chain, reverse_chain,
    counter("num_children", 1), counter("num_children", -1),
    counter("num_active_vmas", 1), counter("num_active_vmas", -1),
    counter("refcount", 1), counter("refcount", -1), counter("degree", 1),
    point_vma_elsewhere, point_vma_up_its_chain, share_vma_with_other_mm, point_avc_elsewhere, other_root, free_linked_avc, free_vma,
    stale_range, stale_mapping, mapcount, leak_avc, leak_anon_vma,
]


def run(text: str, variant, checks: str, seed: int, rate: float, most: int = 1000):
    """The reports (and how the run ended) with corruptions injected after
    steps (each with probability ``rate``, at most ``most``), drawn from
    ``seed``: the same ones whatever checks run."""
    machine = Session(parse(text), Config(variant=variant, checks=checks, lockdep=False,
                                          trace=False)).boot()
    kernel = machine.kernel
    rng = random.Random(seed)
    injected = []

    def inject(step):
        if rng.random() >= rate or len(injected) == most:
            return
        proc = machine.runner.procs.get(getattr(step, "proc", None))
        mm = proc.task.mm if proc is not None and proc.task is not None else None
        touched = rng.random() < 0.5
        pool = [vma for _tsk, vma in live_vmas(kernel) if (vma.vm_mm is mm) == touched]
        vma = _pick(pool, rng)
        if vma is not None:
            corruption = _pick(CORRUPTIONS, rng)
            injected.append((step.lineno, corruption.__name__, touched))
            corruption(kernel, vma, rng)

    # ahead of the checkers: they see the corrupted state
    tp = kernel.trace.scenario_step
    tp.probes = (inject,) + tp.probes
    try:
        machine.run()
        ending = None
    except Exception as e:          # the corrupted kernel tripped over its own state
        ending = re.sub(r"0x[0-9a-f]+", "ADDR", repr(e))
    return machine.reports, ending, injected


ERAS = ["v6.18", "v5.19", "v3.18", "v7.0", "v3.0", LeakyUnlink, LeakyFork]


@pytest.mark.parametrize("era", ERAS, ids=lambda e: e if isinstance(e, str) else e.name)
def test_scoped_reports_what_the_full_walk_reports(era):
    kinds = set()
    reported = 0
    for seed in range(30):
        text = generate(Choices(seed), max_ops=40)
        # none; one, so that nothing else is suspect; many
        for rate, most in ((0.0, 0), (0.15, 1), (0.3, 1000)):
            full = run(text, era, "full", seed, rate, most)
            scoped = run(text, era, "scoped", seed, rate, most)
            assert scoped == full, (text, full[2])
            kinds.update((name, touched) for _line, name, touched in full[2])
            reported += bool(full[0])
    # the comparison meant something: corruptions of many kinds, touched and
    # not, and reports to compare
    assert len(kinds) >= 15 and {touched for _name, touched in kinds} == {True, False}
    assert reported >= 6


def test_scoped_finds_a_corruption_of_state_the_step_did_not_touch():
    """P0's chain loses an AVC while P1 writes: only the full walk of P0's
    chain would see it, and the scoped check reports it too, after every
    line from then on, as the full one does."""
    text = "P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 1\nP1 write 2\n"
    for checks in ("full", "scoped"):
        machine = Session(parse(text), Config(checks=checks, lockdep=False, trace=False)).boot()

        def drop(step, machine=machine):
            if step.lineno == 4:
                p0 = machine.runner.procs["P0"].task.mm
                vma = next(v for _t, v in live_vmas(machine.kernel) if v.vm_mm is p0)
                vma.anon_vma_chain.pop()

        tp = machine.kernel.trace.scenario_step
        tp.probes = (drop,) + tp.probes
        machine.run()
        after = [text for kind, text in machine.reports if kind == "invariant"]
        assert [t.split(":\n")[0] for t in after[:2]] == [
            "after line 4 (P1 write 1)", "after line 5 (P1 write 2)"], after
        assert all("I-1: a live AVC is on 0 VMA chains" in t for t in after[:2])


def test_the_fork_chain_is_checked_in_scope():
    """A fork rechecks the child's chain only: the parents' chains are not
    recomputed, though every tree of the chain got an AVC."""
    from anonvma.checks.scoped import ScopedInvariants
    text = "P0 mmap 0 1\nP0 write 0\n" + "".join(f"P{i} fork P{i + 1}\n" for i in range(20))
    machine = Session(parse(text), Config(checks="scoped", lockdep=False, trace=False)).boot()
    recomputed = []
    original = ScopedInvariants._recompute

    def counting(self, vma, root_last, recount):
        recomputed.append(vma)
        return original(self, vma, root_last, recount)

    ScopedInvariants._recompute = counting
    try:
        machine.run_steps()
    finally:
        ScopedInvariants._recompute = original
    assert machine.reports == []
    # the first check sees every VMA of the booted P0; each fork then adds
    # one VMA with an anon_vma (the mmap'd one) and the child's others
    per_fork = (len(recomputed) - 3) / 20
    assert per_fork < 4, per_fork


def test_scoped_finds_a_foreign_avc_in_an_untouched_tree():
    """P1's AVC of its own anon_vma moves into P2's anon_vma's tree: P1's
    chain still passes (its AVC is in a tree), only the contents of P2's
    anon_vma's tree show it, after the line that moved it and after P0's
    next write, which touches neither."""
    text = "P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 fork P2\nP2 write 1\nP0 write 2\n"
    found = {}
    for checks in ("full", "scoped"):
        machine = Session(parse(text), Config(checks=checks, lockdep=False, trace=False)).boot()
        runner = machine.runner

        def move(step, runner=runner):
            if step.lineno == 5:
                p1, p2 = (runner.procs[name].task.mm.mm_mt.lookup(BASE) for name in ("P1", "P2"))
                avc = p1.anon_vma_chain[0]          # P1's own anon_vma
                anon_vma_interval_tree_remove(avc, avc.rb)
                anon_vma_interval_tree_insert(avc, p2.anon_vma.rb_root)

        tp = machine.kernel.trace.scenario_step
        tp.probes = (move,) + tp.probes
        with pytest.raises(AssertionError, match="not in this tree"):
            machine.run()               # P1's exit trips over the moved AVC
        found[checks] = machine.reports
        after = [text for kind, text in machine.reports if kind == "invariant"]
        assert after and after[0].startswith("after line 5 (P2 write 1):\n"), after
        assert "has a foreign or freed AVC in its tree" in after[0]
        assert "after line 6 (P0 write 2)" in after[1]
    assert found["scoped"] == found["full"]


# after line 12 (P2 write 1), no line touches P1's state again
DIRECTED = ("P0 mmap 0 8\nP0 write 0\nP0 write 5\nP0 fork P1\nP1 write 0\nP1 mprotect 2 2 r\n"
            "P1 mmap 16 2\nP1 write 16\nP1 fork P2\nP2 mmap 20 2\nP2 write 20\nP2 write 1\n"
            "P2 write 7\nP0 write 6\n")


def _eras_of(corruption):
    name = corruption.__name__
    if name.startswith("degree"):
        return ["v5.19"]
    if name.startswith(("num_children", "num_active_vmas")):
        return ["v6.18"]
    return ["v6.18", "v3.0"]


@pytest.mark.parametrize("corruption, era", [(c, era) for c in CORRUPTIONS for era in _eras_of(c)],
                         ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_each_corruption_touched_or_not(corruption, era):
    """Each kind alone, once, into the state of the process whose line just
    ran or of one whose state no line touches again: the scoped check
    reports what the full walk reports, and the full walk reports it."""
    caught = set()
    for touched in (True, False):
        for seed in range(6):
            reports = {}
            for checks in ("full", "scoped"):
                machine = Session(parse(DIRECTED), Config(variant=era, checks=checks,
                                                          lockdep=False, trace=False)).boot()
                rng = random.Random(seed)

                def inject(step, machine=machine, rng=rng):
                    if step.lineno == 12:
                        mm = machine.runner.procs["P2" if touched else "P1"].task.mm
                        vma = _pick([vma for vma in mm.mm_mt if vma.anon_vma is not None], rng)
                        corruption(machine.kernel, vma, rng)

                tp = machine.kernel.trace.scenario_step
                tp.probes = (inject,) + tp.probes
                try:
                    machine.run()
                    ending = None
                except Exception as e:
                    ending = re.sub(r"0x[0-9a-f]+", "ADDR", repr(e))
                reports[checks] = (machine.reports, ending)
            assert reports["scoped"] == reports["full"]
            if any(kind == "invariant" and "after line 12" in text
                   for kind, text in reports["full"][0]):
                caught.add(touched)
    assert caught == {True, False}
