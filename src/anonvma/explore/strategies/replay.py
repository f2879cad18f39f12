"""Replay a recorded schedule (``schedule.Pick`` and ``schedule.Draw``
records, as the scheduler logs them).

``strict`` replay (the determinism check) raises ``ScheduleMismatch`` when
the run reaches a decision that is not the recorded one (another kind, a
different runnable set, a pid that cannot run) or the record runs out: the
program did not behave the same.  Lenient replay (the default, what
``anonvma replay`` and the shrinker use) repairs instead: a pick that cannot
run, or a decision past the end, becomes the non-preemptive choice, so any
edited schedule still describes a run; ``mismatch`` keeps the first place
where it had to, and ``fits()`` says whether the run was the recorded one.
"""

from __future__ import annotations

from ..schedule import Draw, Pick
from .sequential import non_preemptive


class ScheduleMismatch(Exception):
    """A replay found the program at a different decision than recorded."""


class Replay:
    name = "replay"

    def __init__(self, decisions, strict: bool = False, seed: int = 0):
        self.decisions = list(decisions)
        self.strict = strict
        self.seed = seed
        self.pos = 0
        self.mismatch: str | None = None
        self._done = False

    def new_execution(self) -> bool:
        if self._done:
            return False
        self._done = True
        self.pos = 0
        self.mismatch = None
        return True

    def fits(self) -> bool:
        """Did the run make exactly the recorded decisions, all of them?"""
        return self.mismatch is None and self.pos == len(self.decisions)

    def _differs(self, why: str) -> None:
        text = f"decision {self.pos}: {why}"
        if self.strict:
            raise ScheduleMismatch(text)
        if self.mismatch is None:
            self.mismatch = text

    def _next(self):
        if self.pos >= len(self.decisions):
            self._differs("the schedule has no more decisions")
            return None
        d = self.decisions[self.pos]
        self.pos += 1
        return d

    def next_task(self, runnable, current, is_yielding):
        d = self._next()
        pids = tuple(t.pid for t in runnable)
        if isinstance(d, Pick):
            for t in runnable:
                if t.pid == d.pid:
                    now = current.pid if current is not None else None
                    if d.runnable != pids or d.current != now:
                        self.pos -= 1
                        self._differs(f"recorded task {d.current} running and {list(d.runnable)} "
                                      f"runnable, now task {now} and {list(pids)}")
                        self.pos += 1
                    return t
            self.pos -= 1
            self._differs(f"task {d.pid} is not runnable (runnable: {list(pids)})")
            self.pos += 1
        elif d is not None:
            self.pos -= 1
            self._differs(f"recorded a draw among {d.n}, the run picks a task among {list(pids)}")
            self.pos += 1
        return non_preemptive(runnable, current)

    def choose(self, n: int) -> int:
        d = self._next()
        if isinstance(d, Draw) and d.n == n and 0 <= d.value < n:
            return d.value
        if d is not None:
            self.pos -= 1
            self._differs(f"recorded {d}, the run draws among {n}")
            self.pos += 1
        return 0

    def describe(self) -> dict:
        return {"strategy": self.name}
