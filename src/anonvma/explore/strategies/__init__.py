"""Schedule strategies: who runs next when more than one task can.

One strategy per file, all behind one interface (``Strategy``), that of
Shuttle's ``Scheduler`` trait (awslabs/shuttle, src/scheduler/mod.rs).

The scheduler records each pick and each ``choose`` as a typed decision
(``schedule.Pick``, ``schedule.Draw``): the *schedule*; ``Replay`` plays a
schedule back, which is what makes every failure reproducible and
shrinkable (Hypothesis's idea: one record of every decision).
"""

from __future__ import annotations

from typing import Protocol

from .contend import Contend
from .dfs import Dfs
from .pct import Pct
from .random import Random
from .replay import Replay, ScheduleMismatch
from .sequential import Sequential



class Strategy(Protocol):
    """What every strategy does."""

    name: str

    def new_execution(self) -> bool:
        """Prepare the next run; False when there is nothing more to try."""

    def next_task(self, runnable: list, current, is_yielding: bool):
        """Pick one of ``runnable`` (task_structs in spawn order, at least two);
        ``current`` is the task at the scheduling point, which may not be
        runnable (it blocked or finished), or None at the start of a run;
        ``is_yielding``: it asked to give way."""

    def choose(self, n: int) -> int:
        """Any other modelled random choice, in [0, n)."""

    def describe(self) -> dict:
        """The strategy and its parameters, for reports and saved files."""


STRATEGIES = {"sequential": Sequential, "random": Random, "pct": Pct, "contend": Contend,
              "dfs": Dfs}


def make_strategy(name: str, seed: int = 0, **params):
    """A strategy by its command-line name."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; one of {', '.join(STRATEGIES)}") from None
    return cls(seed=seed, **params)


__all__ = ["Contend", "Dfs", "Pct", "Random", "Replay", "ScheduleMismatch", "Sequential",
           "STRATEGIES", "Strategy", "make_strategy"]
