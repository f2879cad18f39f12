"""Near misses (zoo/nearmiss.py) and what the search gives a program that
shows one: the reuse under a reader of B4's hand-written window, on the
buggy era and on the fixed one (whose lookup checks again), and none in a
run that has no reader beside the free."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonvma.explore.runner import execute
from anonvma.explore.schedule import load_schedule
from anonvma.explore.strategies import Replay
from anonvma.scenario import parse_file
from anonvma.session import Config, Session
from anonvma.zoo import cold
from anonvma.zoo.cold import Watched

HERE = Path(__file__).parent / "reproducers"


def _b4(era: str) -> Watched:
    return Watched(Session(parse_file(str(HERE / "B4.scn")), Config(variant=era)))


@pytest.mark.parametrize("era", ["v2.6.36-rc1", "v2.6.36"])
def test_b4s_window_is_a_reuse_under_a_reader_on_both_eras(era):
    """kswapd read the anon_vma's root under rcu_read_lock() and was
    preempted; P1's exit freed the anon_vma and P2's fork took the slot
    while kswapd was still in its read section."""
    program = _b4(era)
    decisions, _info = load_schedule(HERE / "B4.schedule.json")
    ex = execute(program, Replay(decisions))
    assert (ex.failure is not None) == (era == "v2.6.36-rc1")
    assert program.near_misses >= 1


def test_no_reuse_under_a_reader_without_one():
    """Run in order, P1's exit and P2's fork are not beside kswapd's walk:
    the slot is reused, but nobody is reading."""
    program = _b4("v2.6.36-rc1")
    ex = execute(program, Replay([]))
    assert ex.failure is None and program.near_misses == 0


def test_a_program_with_a_near_miss_gets_focus_schedules():
    """The fixed era never fails on B4's program, so every schedule the
    search gives it is run: SCHEDULES of each strategy, then, a near miss
    seen among them, FOCUS more of each; and the program is a parent the
    mutants of its family are drawn from."""
    text = (HERE / "B4.scn").read_text().replace("set variant v2.6.36-rc1\n", "")
    prog = cold.Program(text, True, params={"concurrent": True, "pressure": True})
    corpus = cold.Corpus()
    assert cold.run_program(prog, "v2.6.36", 0, corpus) is None
    assert prog.runs == len(cold.STRATEGIES) * (cold.SCHEDULES + cold.FOCUS)
    assert corpus.focus == [prog]
