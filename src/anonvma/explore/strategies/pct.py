"""PCT, probabilistic concurrency testing.

Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with
Probabilistic Guarantees of Finding Bugs", ASPLOS 2010, Algorithm 1: give
the n tasks distinct random priorities; always run the highest-priority
runnable task; choose d-1 change points uniformly among the k steps of a
run, and at the i-th change point lower the running task's priority below
every other (to i in the paper's numbering).  A bug of depth d is then
found with probability at least 1/(n * k^(d-1)) per run.

How this follows Shuttle's PctScheduler (itself following Coyote) and how it
deviates from the paper:
- A *step* is a scheduling decision among two or more runnable tasks, not
  every instruction: the model has no other points where an interleaving
  can differ.  k is not known in advance; it is learned as the largest
  number of steps seen in any earlier execution (the first execution uses
  ``k_hint``).
- Tasks are created while the run goes on; a task gets its random priority
  when it is first seen runnable, inserted at a random rank.
- A yielding task (``yield_()`` in a retry loop) is lowered as at a change
  point, so a spin-wait cannot starve the task it waits for.
- ``choose(n)`` draws uniformly; PCT says nothing about data choices.
- ``depth`` may be a range (lo, hi): the runs take the depths lo..hi in
  turn.  The guarantee above is for a bug of depth d searched with d; a
  search with a larger d finds a shallower bug less often (its change points
  break the one priority order that suffices, as the paper's bound drops
  with d), and a bug's depth is not known in advance.  Taking the depths in
  turn keeps each depth's guarantee at 1/(hi - lo + 1) of its rate.  Most
  known bugs need a bound of 1 to 3 (Thomson, Donaldson, Betts,
  "Concurrency Testing Using Schedule Bounding: an Empirical Study",
  PPoPP 2014), hence the explorer's default 1-3.
"""

from __future__ import annotations

import random


class Pct:
    name = "pct"

    def __init__(self, seed: int = 0, depth: int | tuple[int, int] = 3, k_hint: int = 20,
                 max_executions: int | None = None):
        lo, hi = (depth, depth) if isinstance(depth, int) else depth
        if not 1 <= lo <= hi:
            raise ValueError("PCT depth must be at least 1, a range low to high")
        self.seed = seed
        self.depths = (lo, hi)
        self.depth = lo
        self.max_steps = k_hint
        self.max_executions = max_executions
        self.execution = -1
        self.rng = random.Random()
        self.priorities: list[int] = []     # pids, highest priority first
        self.change_points: set[int] = set()
        self.steps = 0

    def new_execution(self) -> bool:
        self.execution += 1
        if self.max_executions is not None and self.execution >= self.max_executions:
            return False
        self.max_steps = max(self.max_steps, self.steps)
        self.rng.seed(f"{self.seed}/{self.execution}")
        lo, hi = self.depths
        self.depth = lo + self.execution % (hi - lo + 1)
        self.priorities = []
        k = max(self.max_steps, 1)
        self.change_points = {self.rng.randint(1, k) for _ in range(self.depth - 1)}
        self.steps = 0
        return True

    def _lower(self, pid: int) -> None:
        self.priorities.remove(pid)
        self.priorities.append(pid)

    def next_task(self, runnable, current, is_yielding):
        prio = self.priorities
        for t in runnable:
            if t.pid not in prio:
                prio.insert(self.rng.randint(0, len(prio)), t.pid)
        self.steps += 1
        if current is not None and current.pid in prio and (
                self.steps in self.change_points or self._gives_way(current, runnable,
                                                                    is_yielding)):
            self._lower(current.pid)
        # the highest priority runnable: a handful of tasks, so the ranks are
        # looked up rather than a map built at every step
        best, rank = None, len(prio)
        for t in runnable:
            r = prio.index(t.pid)
            if r < rank:
                best, rank = t, r
        return best

    def _gives_way(self, current, runnable, is_yielding: bool) -> bool:
        """Is ``current`` lowered at this step, besides the change points?"""
        return is_yielding

    def choose(self, n: int) -> int:
        return self.rng.randrange(n)

    def describe(self) -> dict:
        lo, hi = self.depths
        return {"strategy": self.name, "seed": self.seed,
                "depth": lo if lo == hi else f"{lo}-{hi}", "execution": self.execution}
