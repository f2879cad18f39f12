"""Seeded uniform random scheduling (Shuttle's RandomScheduler).

At every decision each runnable task is equally likely.  Execution *i* of a
strategy seeded with *s* draws from its own generator, seeded with (s, i),
so any single execution can be re-run from the seed and its index alone
(the recorded schedule does the same without the strategy).
"""

from __future__ import annotations

import random


class Random:
    name = "random"

    def __init__(self, seed: int = 0, max_executions: int | None = None):
        self.seed = seed
        self.max_executions = max_executions
        self.execution = -1
        self.rng = random.Random()

    def new_execution(self) -> bool:
        self.execution += 1
        if self.max_executions is not None and self.execution >= self.max_executions:
            return False
        self.rng.seed(f"{self.seed}/{self.execution}")
        return True

    def next_task(self, runnable, current, is_yielding):
        return runnable[self.rng.randrange(len(runnable))]

    def choose(self, n: int) -> int:
        return self.rng.randrange(n)

    def describe(self) -> dict:
        return {"strategy": self.name, "seed": self.seed, "execution": self.execution}
