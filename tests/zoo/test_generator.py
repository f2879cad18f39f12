"""The concurrent programs' swarm toggles (explore/programs.py
``generate_concurrent``), checked on what the programs make a kernel do:
the tree's children own folios in anon_vmas of their own, an exiting
process is alone on its lines in the block, the zone is filled where the
toggle says; and the sequential swarms' process churn."""

from __future__ import annotations

import random

from anonvma.explore.programs import FILL_PAGES, FILL_START, FREEING, Choices, generate_concurrent
from anonvma.scenario import parse
from anonvma.viz.graph import run_until
from anonvma.zoo import cold
from anonvma.zoo.cold import BLOCK_OPS

REGION = 0x200000000000     # page 0 of the scenario, where the working region is


def _programs(n=200, **kw):
    for seed in range(n):
        yield generate_concurrent(Choices(seed), exits=True, may_fork=True,
                                  block_ops=BLOCK_OPS, **kw)


def test_tree_children_have_anon_vmas_of_their_own_under_one_root():
    """anon_vma_fork() gives the region's VMA in each child of the tree an
    anon_vma of its own under the parent's root (the parent wrote page 0),
    where the child's writes put the folios they copy: the tree is
    anon_vmas of every depth under one root."""
    checked = 0
    for text in _programs(40, tree=2, max_ops=1):
        prefix = text.split("together\n")[0]
        sc = parse(prefix)
        kernel, _sink = run_until(sc)
        tasks = {t.comm: t for t in kernel.tasks if t.mm}
        for line in prefix.splitlines():
            words = line.split()
            if len(words) == 3 and words[1] == "fork" and words[2] in tasks \
                    and words[0] in tasks:
                child = tasks[words[2]].mm.mm_mt.find(REGION)
                parent = tasks[words[0]].mm.mm_mt.find(REGION)
                if child is None or parent is None or child.vm_start != REGION:
                    continue
                assert child.anon_vma is not None and child.anon_vma is not parent.anon_vma
                assert child.anon_vma.root is parent.anon_vma.root
                checked += 1
    assert checked >= 20


def test_an_exiting_process_is_a_leaf_alone_in_the_block_and_meets_freeing_lines():
    exits = freeing = 0
    for text in _programs(tree=1):
        parse(text)                       # an exit after another line would not parse
        block = text.split("together\n")[1].splitlines()[:-1]
        exiting = [ln.split()[0] for ln in block if ln.endswith(" exit")]
        if not exiting:
            continue
        exits += 1
        assert exiting[0] != "P0"
        assert [ln for ln in block if ln.split()[0] == exiting[0]] == [f"{exiting[0]} exit"]
        # a leaf of the process tree: its exit frees the anon_vmas of its own
        assert not any(ln.startswith(f"{exiting[0]} fork ") for ln in text.splitlines())
        freeing += any(set(ln.split()) & FREEING for ln in block)
    assert exits > 50 and freeing > exits // 2


def test_fill_last_puts_the_zones_fill_after_the_prefix():
    for fill_last in (False, True):
        text = next(_programs(1, pressure=True, tree=1, fill_last=fill_last))
        lines = text.split("together\n")[0].splitlines()
        fill, fork = lines.index(f"P0 mmap {FILL_START} {FILL_PAGES}"), next(
            i for i, ln in enumerate(lines) if " fork " in ln)
        assert (fill > fork) == fill_last
    assert next(_programs(1, preempt=True)).startswith("set preempt full\n")


def test_pressure_programs_start_the_block_at_the_low_watermark():
    """at_the_edge() sizes the fill after a run of the prefix: the zone's
    free pages at the block are within EDGE of the low watermark, and P0,
    which fills it and writes in the block, is alive."""
    rng = random.Random(0)
    edges = []
    for _ in range(30):
        prog = cold.at_the_edge(cold.draw_program(rng, "pressure"), "v3.0-rc2", rng)
        if prog is None:
            continue
        sc = parse(prog.text)
        session = cold.Session(sc, cold.Config(variant="v3.0-rc2", checks=False))
        machine = session.boot()
        block = next(st for st in sc.steps if isinstance(st, cold.Together))
        machine.run_steps(until=block.lineno - 1)
        assert not machine.runner.procs["P0"].dead
        edges.append(machine.kernel.zone.nr_free - machine.kernel.zone.wmark_low)
    within = [e for e in edges if cold.EDGE[0] <= e <= cold.EDGE[1]]
    assert len(edges) >= 10 and len(within) >= 0.9 * len(edges)


def _exited_generations(text: str) -> int:
    """The most generations of exited ancestors above a process at the
    moment it forks (Daniel Forrest's fork loop has one per iteration)."""
    parent, exited, best = {}, set(), 0
    for line in text.splitlines():
        words = line.split()
        if len(words) == 3 and words[1] == "fork":
            gens, proc = 0, words[0]
            while proc in parent and parent[proc] in exited:
                gens, proc = gens + 1, parent[proc]
            best = max(best, gens)
            parent[words[2]] = words[0]
        elif words[1:] == ["exit"]:
            exited.add(words[0])
    return best


def test_process_churn_makes_fork_trees_whose_parents_exit(monkeypatch):
    """The churn dimension of the sequential swarms: with it, a fork by a
    process whose parent and grandparent have exited (the hierarchies anon_vma
    reuse works on, three anon_vmas of dead processes on the chain) is common;
    without it, rare."""
    deep = {}
    for churn in (0.0, 1.0):
        monkeypatch.setattr(cold, "CHURN", churn)
        rng = random.Random(1)
        programs = [cold.build(cold.draw_config(rng, "plain"), Choices(rng.randrange(1 << 30)))
                    for _ in range(200)]
        deep[churn] = sum(_exited_generations(p.text) >= 2 for p in programs)
    assert deep[1.0] >= 40 and deep[1.0] >= 10 * max(deep[0.0], 1)
