"""Property tests of your own: Hypothesis strategies that draw scenario
programs, and a checker that runs one on a variant with every check.

    from hypothesis import given
    from anonvma.testing import check_scenario, scenarios

    @given(scenarios(max_ops=20, weights={"fork": 6, "mremap": 0}))
    def test_my_patch_keeps_every_invariant(text):
        check_scenario(text, variant="mypatch.py:MyPatch")

The programs come from the project's own generator
(``anonvma.explore.programs``), which draws every decision through one
``choose(lo, hi)``: here Hypothesis's integers, so that a failing program
shrinks to a small one.  See docs/testing.md.
"""

from __future__ import annotations

from typing import Mapping

from hypothesis import strategies as st

from .explore.programs import BLOCK_OPS, generate, generate_concurrent, op_weights
from .session import Config, Session
from .scenario import parse

SCHEDULES = 25          # schedules per strategy for a concurrent program


@st.composite
def _program(draw, make, **kw) -> str:
    return make(lambda lo, hi: draw(st.integers(lo, hi)), **kw)


def scenarios(max_ops: int = 40, window: int = 32, max_procs: int = 4,
              weights: Mapping[str, int] | None = None) -> st.SearchStrategy[str]:
    """Plain scenario programs of up to ``max_ops`` operations by up to
    ``max_procs`` processes on ``window`` pages; ``weights`` (op -> weight,
    e.g. ``{"fork": 6, "mremap": 0}``) changes how often each op comes."""
    op_weights(weights)                 # a mistake is an error now, not in a draw
    return _program(generate, max_ops=max_ops, window=window, max_procs=max_procs,
                    weights=weights)


def concurrent_scenarios(max_ops: int = 12, block: tuple[int, int] = (2, 3),
                         pressure: bool = False, block_ops=BLOCK_OPS,
                         weights: Mapping[str, int] | None = None) -> st.SearchStrategy[str]:
    """Concurrent programs: a plain prefix (``max_ops``, ``weights`` as in
    ``scenarios``), then a together block of ``block`` = (least, most)
    lines from ``block_ops`` plus a fork; with ``pressure``, memory nearly
    full so that reclaim runs beside them."""
    op_weights(weights)
    if not 1 <= block[0] <= block[1]:
        raise ValueError(f"block={block}: (least, most) lines, 1 <= least <= most")
    return _program(generate_concurrent, max_ops=max_ops, block=block, pressure=pressure,
                    block_ops=tuple(block_ops), weights=weights)


def check_scenario(text: str, variant: str | None = None, schedules: int = SCHEDULES,
                   seed: int = 0) -> None:
    """Run ``text`` on ``variant`` (a name or ``PATH.py:Class``) with every
    check: a plain program once, with the invariants after every line, a
    leak check, and lockdep; a concurrent one under ``schedules`` random and
    as many PCT schedules, with lockdep, the hung-task detector and the
    invariants after every block.  ``AssertionError`` with the program and
    the problems if anything is wrong."""
    sc = parse(text, "<generated>")
    if not sc.concurrent:
        problems = Session(sc, Config(variant=variant)).run().problems
    else:
        from .explore.runner import explore_program
        from .explore.strategies import Pct, Random
        problems = []
        for strategy in (Random(seed=seed), Pct(seed=seed, depth=2)):
            r = explore_program(Session(sc, Config(variant=variant, trace=False)), strategy,
                                budget_runs=schedules)
            if r.failure is not None:
                problems.append(r.failure.text)
                break
    if problems:
        raise AssertionError(f"the program\n{text}fails on {variant or 'the newest era'}:\n"
                             + "\n".join(problems))


__all__ = ["check_scenario", "concurrent_scenarios", "scenarios"]
