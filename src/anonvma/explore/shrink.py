"""Shrinking a failure: fewer preemptions and decisions in its schedule,
fewer lines in its scenario, smaller choices in the generator that made it.

- ``shrink_schedule``: greedy passes over the decision list (drop the tail,
  make one preempting pick non-preemptive, delete one decision) while the
  failure of the same kind remains, cheapest first by (preemptions,
  decisions), as the PCT and Shuttle literature measure a schedule.
- ``delete_lines``: chunks of halves, then quarters, down to single lines,
  as in delta debugging; shared by the explorer (a scenario that still
  deadlocks under its schedule) and the live-kernel comparison (a scenario
  that still differs).
- ``shrink_choices``: Hypothesis's idea for a generated scenario: the
  generator draws every decision from one list of choices, and a smaller
  list (fewer, lower choices) gives a smaller program, numbers included.

Every shrinker stops at a fixed cost (runs and seconds), so shrinking never
costs more than the search that found the failure is worth.
"""

from __future__ import annotations

import time

from ..scenario import ScenarioError, parse
from .schedule import Pick, preemptions
from .strategies import Replay


class _Budget:
    def __init__(self, max_runs: int | None, max_seconds: float | None):
        self.runs = 0
        self.max_runs = max_runs
        self.deadline = None if max_seconds is None else time.perf_counter() + max_seconds

    def left(self) -> bool:
        return ((self.max_runs is None or self.runs < self.max_runs)
                and (self.deadline is None or time.perf_counter() < self.deadline))

    def spend(self) -> None:
        self.runs += 1


# -- schedules -----------------------------------------------------------------------------

def _normalise(decisions: list) -> list:
    """The decisions Replay needs to repeat a run: without the trailing
    picks that Replay's non-preemptive default makes anyway."""
    s = list(decisions)
    while s and isinstance(s[-1], Pick):
        d = s[-1]
        default = d.current if d.current in d.runnable else d.runnable[0]
        if d.pid != default:
            break
        s.pop()
    return s


def shrink_schedule(execute, program, schedule: list, kind: str, max_runs: int = 200,
                    max_seconds: float | None = 10.0) -> list:
    """A schedule with fewer preemptions and fewer decisions that still fails
    with the same ``kind`` under lenient replay.  ``execute`` is
    ``runner.execute`` (passed in: the runner imports this module)."""
    budget = _Budget(max_runs, max_seconds)

    def attempt(s):
        budget.spend()
        ex = execute(program, Replay(s))
        if ex.failure is not None and ex.failure.kind == kind:
            return _normalise(ex.schedule)
        return None

    first = attempt(schedule)
    if first is None:
        return list(schedule)
    best = first
    best_cost = (preemptions(best), len(best))

    def better(s) -> bool:
        nonlocal best, best_cost
        if s is None:
            return False
        cost = (preemptions(s), len(s))
        if cost < best_cost:
            best, best_cost = s, cost
            return True
        return False

    progress = True
    while progress and budget.left():
        progress = False
        # 1. Undo one preemption: pick the current task instead.
        for i, d in enumerate(best):
            if not budget.left():
                break
            if isinstance(d, Pick) and d.preempting:
                if better(attempt(best[:i] + [Pick(d.current, d.runnable, d.current)]
                                  + best[i + 1:])):
                    progress = True
                    break
        if progress:
            continue
        # 2. A shorter prefix (Replay continues non-preemptively).
        n = 0
        while n < len(best) and budget.left():
            if better(attempt(best[:n])):
                progress = True
                break
            n = n * 2 + 1
        if progress:
            continue
        # 3. Delete one decision.
        for i in range(len(best) - 1, -1, -1):
            if not budget.left():
                break
            if better(attempt(best[:i] + best[i + 1:])):
                progress = True
                break
    return best


# -- scenario lines ------------------------------------------------------------------------------

def delete_lines(text: str, still_fails, max_runs: int | None = None,
                 max_seconds: float | None = None) -> str:
    """The smallest scenario reached by deleting operation lines of ``text``
    (``set`` lines, comments and blank lines stay) for which
    ``still_fails(scenario, text)`` holds; candidates that do not parse are
    skipped.  Stops early once ``max_runs`` tries or ``max_seconds`` are spent."""
    lines = text.split("\n")       # the scenario grammar's line ends
    if lines and lines[-1] == "":
        lines.pop()
    body = [i for i, line in enumerate(lines)
            if line.split("#")[0].strip() and line.split()[:1] != ["set"]]
    keep = [i for i in range(len(lines)) if i not in set(body)]
    budget = _Budget(max_runs, max_seconds)
    best = text

    chunk = max(1, len(body) // 2)
    while chunk >= 1 and budget.left():
        i = 0
        while i < len(body) and budget.left():
            candidate = body[:i] + body[i + chunk:]
            cand = "\n".join(lines[j] for j in sorted(keep + candidate)) + "\n"
            budget.spend()
            try:
                sc = parse(cand, "<shrink>")
            except ScenarioError:
                sc = None
            if candidate and sc is not None and still_fails(sc, cand):
                body, best = candidate, cand
            else:
                i += chunk
        chunk //= 2
    return best


def shrink_scenario(execute, text: str, schedule: list, kind: str, make_program,
                    max_runs: int = 400, max_seconds: float = 20.0) -> tuple[str, list]:
    """Delete scenario lines while the scenario, replayed leniently with
    ``schedule``, still fails with the same ``kind``.  Returns the smaller
    scenario and the schedule its failing run took."""
    schedules = {text: schedule}

    def still_fails(sc, cand: str) -> bool:
        ex = execute(make_program(sc), Replay(schedule))
        if ex.failure is None or ex.failure.kind != kind:
            return False
        schedules[cand] = _normalise(ex.schedule)
        return True

    best = delete_lines(text, still_fails, max_runs, max_seconds)
    return best, schedules[best]


# -- generator choices -------------------------------------------------------------------------

def shrink_choices(choices: list[int], still_fails, max_runs: int = 300,
                   max_seconds: float | None = 30.0) -> list[int]:
    """A shorter, lower choice list for which ``still_fails(choices)``
    holds: delete chunks (halves down to single choices), then lower each
    choice (to 0, then by halving), as Hypothesis shrinks its choice
    sequence.  A generator past the end of its list draws the lowest value."""
    budget = _Budget(max_runs, max_seconds)
    best = list(choices)

    def attempt(cand) -> bool:
        nonlocal best
        budget.spend()
        if still_fails(cand):
            best = cand
            return True
        return False

    chunk = max(1, len(best) // 2)
    while chunk >= 1 and budget.left():
        i = 0
        while i < len(best) and budget.left():
            if not attempt(best[:i] + best[i + chunk:]):
                i += chunk
        chunk //= 2
    for i in range(len(best)):
        while best[i] and budget.left():
            lower = 0 if best[i] <= 1 else best[i] // 2
            if not attempt(best[:i] + [lower] + best[i + 1:]):
                if lower == 0 and best[i] > 1 and attempt(best[:i] + [best[i] - 1] + best[i + 1:]):
                    continue
                break
    return best
