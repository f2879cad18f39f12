"""Replay a recorded schedule.

The schedule is the flat list a ``Scheduler`` records: a pid for each pick
among several runnable tasks, an int for each ``choose``.  Replaying it with
the same program repeats the run.

``strict`` replay (the determinism check) raises ``ScheduleMismatch`` when
the recorded pid is not runnable or the list runs out: the program did not
behave the same.  Lenient replay (the default, and what shrinking needs)
repairs instead: a pid that cannot run, or a decision past the end of the
list, becomes the non-preemptive choice, so any edited schedule still
describes a run.
"""

from __future__ import annotations

from .sequential import non_preemptive


class ScheduleMismatch(Exception):
    """A replay found the program at a different decision than recorded."""


class Replay:
    name = "replay"

    def __init__(self, schedule, strict: bool = False, seed: int = 0):
        self.schedule = list(schedule)
        self.strict = strict
        self.seed = seed
        self.pos = 0
        self._done = False

    def new_execution(self) -> bool:
        if self._done:
            return False
        self._done = True
        self.pos = 0
        return True

    def _next(self):
        if self.pos >= len(self.schedule):
            if self.strict:
                raise ScheduleMismatch(f"schedule exhausted after {self.pos} choices")
            return None
        c = self.schedule[self.pos]
        self.pos += 1
        return c

    def next_task(self, runnable, current, is_yielding):
        pid = self._next()
        for t in runnable:
            if t.pid == pid:
                return t
        if self.strict:
            raise ScheduleMismatch(
                f"choice {self.pos - 1}: task {pid} is not runnable "
                f"(runnable: {[t.pid for t in runnable]})")
        return non_preemptive(runnable, current)

    def choose(self, n: int) -> int:
        c = self._next()
        if c is None or not 0 <= c < n:
            if self.strict:
                raise ScheduleMismatch(f"choice {self.pos - 1}: {c} is not in [0, {n})")
            return 0
        return c

    def describe(self) -> dict:
        return {"strategy": self.name}
