"""Schedule strategies: who runs next when more than one task can.

One strategy per file, all behind the interface of Shuttle's ``Scheduler``
trait (awslabs/shuttle, src/scheduler/mod.rs):

  ``new_execution() -> bool``   prepare the next run; False when the strategy
                                has nothing more to try (exhaustive search done)
  ``next_task(runnable, current, is_yielding) -> task``
                                pick one of ``runnable`` (a list of
                                task_structs in spawn order, at least two);
                                ``current`` is the task at the scheduling
                                point, which may not be runnable (it blocked
                                or finished), or None at the start of a run;
                                ``is_yielding`` says it asked to give way
  ``choose(n) -> int``          any other modelled random choice in [0, n)

The scheduler records each pick (as a pid) and each ``choose`` (as the int)
in one flat list, the *schedule*; ``Replay`` plays a schedule back, which is
what makes every failure reproducible and shrinkable (Hypothesis's idea: one
choice sequence for every decision).
"""

from __future__ import annotations

from .dfs import Dfs
from .pct import Pct
from .random import Random
from .replay import Replay, ScheduleMismatch
from .sequential import Sequential

STRATEGIES = {"sequential": Sequential, "random": Random, "pct": Pct, "dfs": Dfs}


def make_strategy(name: str, seed: int = 0, **params):
    """A strategy by its command-line name."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; one of {', '.join(STRATEGIES)}") from None
    return cls(seed=seed, **params)


__all__ = ["Dfs", "Pct", "Random", "Replay", "ScheduleMismatch", "Sequential",
           "STRATEGIES", "make_strategy"]
