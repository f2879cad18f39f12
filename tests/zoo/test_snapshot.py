"""A concurrent program's schedules from the snapshot after its prefix are
the schedules from fresh boots (cold.Watched with ``prefix_once``): for
generated programs, failing ones among them, and for the zoo's concurrent
reproducers under their saved schedules, the same first problem (kind,
text, schedule), runs, near misses and coverage lines given to the corpus;
and a whole search finds the same report at the same program."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from anonvma.explore.runner import execute, explore_program
from anonvma.explore.schedule import load_schedule
from anonvma.explore.strategies import Contend, Replay
from anonvma.zoo import BY_ID, cold, others_in

HERE = Path(__file__).parent / "reproducers"


def drawn(era: str, kind: str, seed: int, picks) -> list[cold.Program]:
    """The programs ``picks`` (indices) of a family's draws from ``seed``,
    a pressure program's fill at the edge as a search sizes it."""
    rng = random.Random(seed)
    out = []
    while len(out) <= max(picks):
        prog = cold.draw_program(rng, kind)
        if kind == "pressure":
            prog = cold.at_the_edge(prog, era, rng)
            if prog is None:
                continue
        out.append(prog)
    return [out[i] for i in picks]


def watching(monkeypatch) -> list:
    """The Watched programs that ``cold.watched`` makes from now on."""
    made = []
    real = cold.watched

    def recorded(*args, **kw):
        made.append(real(*args, **kw))
        return made[-1]
    monkeypatch.setattr(cold, "watched", recorded)
    return made


def outcome(prog: cold.Program, era: str, seed: int, prefix_once: bool, made: list):
    prog = replace(prog, runs=0)
    corpus = cold.Corpus()
    hit = cold.run_program(prog, era, seed, corpus, prefix_once=prefix_once)
    program = made[-1]
    return dict(hit=hit, runs=prog.runs, per_run=prog.per_run, near_misses=program.near_misses,
                coverage=corpus.seen, kept=len(corpus.programs), focus=len(corpus.focus),
                lines=list(program.machine.trace_lines.lines),
                snapshot=program._prefixed is not None and program._prefixed.machine is not None)


# (era, family, seed, the draws): B1's era, where three of these report
# lockdep's RECLAIM_FS inversion (one after a near miss's more schedules)
# and one has a near miss; B4's, where one reports lockdep after its near
# miss's schedules; and concurrent programs without pressure on B5's.
PROGRAMS = [("v3.0-rc2", "pressure", 0, (0, 5, 13, 18, 27)),
            ("v2.6.36-rc1", "pressure", 0, (0, 5, 13)),
            ("v3.15", "concurrent", 0, range(12))]


@pytest.mark.parametrize("era, kind, seed, picks", PROGRAMS,
                         ids=[f"{era}-{kind}" for era, kind, _s, _p in PROGRAMS])
def test_generated_programs_run_the_same_from_the_snapshot(monkeypatch, era, kind, seed, picks):
    made = watching(monkeypatch)
    results = []
    for i, prog in zip(picks, drawn(era, kind, seed, picks)):
        fresh = outcome(prog, era, seed + i, False, made)
        once = outcome(prog, era, seed + i, True, made)
        assert once.pop("snapshot") and not fresh.pop("snapshot")
        assert once == fresh
        results.append(once)
    # what the comparison covers: failing programs, near misses, FOCUS
    if kind == "pressure":
        assert any(r["hit"] for r in results)
        assert any(r["near_misses"] for r in results)
        assert any(r["runs"] > 2 * cold.SCHEDULES for r in results)


# the bugs' reproducers fail under their schedules; those of the model's
# own bugs the zoo found (fixed since) run clean
REPLAYS = ("B1", "B4", "B4-cold", "B5-cold", "exit_beside_reclaim_leak", "preempt_leak",
           "swap_in_race", "swap_pte_without_slot")


@pytest.mark.parametrize("name", REPLAYS)
def test_reproducers_replay_the_same_from_the_snapshot(name):
    """Each saved schedule runs the same, with the same failure, reports,
    trace lines and near misses."""
    text = (HERE / f"{name}.scn").read_text()
    decisions = load_schedule(HERE / f"{name}.schedule.json")[0]
    got = []
    for once in (False, True):
        program = cold.watched(text, None, path=name, prefix_once=once)
        ex = execute(program, Replay(decisions))
        got.append((ex.failure, ex.reports, ex.schedule, program.near_misses,
                    program.machine.trace_lines.lines))
    assert program._prefixed.machine is not None
    assert got[0] == got[1]
    assert (got[0][0] is not None) == name.startswith("B")


# B5 (v3.15) with the root anon_vma made in the prefix: KASAN's report in
# the block names the prefix's allocation, which the snapshot carries
B5_PREFIX = """set variant v3.15
P0 mmap 0 8
P0 write 0
P0 fork P1
P1 write 1
together
P0 write 30
P0 munmap 0 8
P1 exit
end
"""


def test_kasan_reports_the_allocation_the_prefix_made():
    got = []
    for once in (False, True):
        program = cold.watched(B5_PREFIX, None, prefix_once=once)
        r = explore_program(program, Contend(seed=0, depth=2), budget_runs=200)
        got.append((r.runs, r.failure, r.schedule))
    assert got[0] == got[1]
    assert got[0][1].kind == "kasan"
    assert "Allocated by task 1 (P0):\n anon_vma_alloc\n __anon_vma_prepare" in got[0][1].text


# 3a206a8649f8 by a plain program, B1 by a pressure program's schedule,
# each after a few hundred programs of every family
@pytest.mark.parametrize("bug_id, seed", [
    ("3a206a8649f8", 0), pytest.param("B1", 0, marks=pytest.mark.slow)])
def test_a_search_finds_the_same_report_at_the_same_program(bug_id, seed):
    bug = BY_ID[bug_id]
    found = []
    for once in (False, True):
        f, n = cold.search(bug.buggy, float("inf"), seed, shrink=False, programs=300,
                           skip=others_in(bug, bug.buggy), prefix_once=once)
        assert f is not None
        found.append((n, f.kind, f.program.text, f.schedule, f.program.runs, f.report))
    # the report too: its stacks end at kernel entries, not in the frames
    # that ran the prefix (Prefixed's, or a fresh boot's)
    assert found[0] == found[1]
