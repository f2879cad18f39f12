"""Running a concurrent program under a strategy: one execution, a search,
the determinism check and schedule shrinking.

A *program* is anything with ``boot() -> kernel`` (a fresh kernel, checkers
attached as the program's configuration says) and ``run(kernel)`` (start the
tasks through ``kernel.sched.spawn`` and ``kernel.sched.run``).  The runner
installs a ``Scheduler`` driven by the strategy, listens to the ``report``
tracepoint, and calls an execution failed if anything was reported
(lockdep, hung task, KASAN, VM_BUG_ON...) or the program raised.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

from ..kernel.kernel.sched.core import HungTask, Scheduler
from ..model import MESSAGE_KINDS
from ..trace import rmap_cache_kind, rmap_call_site
from .shrink import delete_lines
from .strategies import Replay, ScheduleMismatch


@dataclass
class Failure:
    kind: str           # "lockdep", "hung_task", ..., or "exception"
    text: str

    def headline(self) -> str:
        for line in self.text.splitlines():
            line = line.strip(" =-[]")
            if line:
                return f"{self.kind}: {line}"
        return self.kind


@dataclass
class Execution:
    schedule: list[int]
    failure: Failure | None
    reports: list[tuple[str, str]]
    nr_switches: int
    log: list | None = None
    events: list[str] | None = None
    # failed rmap allocations by trace token ("AVC:clone/fork"...): the
    # GFP_NOWAIT tries of anon_vma_clone whose fallback then ran, mostly
    alloc_failures: Counter = field(default_factory=Counter)


def execute(program, strategy, log: bool = False, events: bool = False) -> Execution:
    """One run of ``program`` with ``strategy`` deciding every interleaving.
    ``log`` keeps the decisions (runnable pids, current pid, pick), ``events``
    the lock and scheduling events: what the determinism check compares."""
    kernel = program.boot()
    sched = Scheduler(kernel, strategy, log=log)
    kernel.sched = sched
    reports: list[tuple[str, str]] = []
    alloc_failures: Counter = Counter()
    trace = kernel.trace

    def failed_alloc(call_site, ptr, cache, gfp):
        kind = rmap_cache_kind(cache)
        if ptr is None and kind is not None:
            alloc_failures[f"{kind}:{rmap_call_site(call_site)}"] += 1

    probes = [(trace.report, lambda kind, text: reports.append((kind, text))),
              (trace.kmem_cache_alloc, failed_alloc)]
    ev: list[str] | None = [] if events else None
    if ev is not None:
        def who():
            return kernel.current.pid if kernel.current is not None else 0
        probes += [
            (trace.lock_acquire, lambda lock, sub, tr, rd, ip:
                ev.append(f"{who()} acquire {lock.name}/{sub} t{tr} r{rd}")),
            (trace.lock_release, lambda lock, ip: ev.append(f"{who()} release {lock.name}")),
            (trace.sched_switch, lambda prev, next: ev.append(f"switch {prev.pid} {next.pid}")),
        ]
    for tp, probe in probes:
        tp.register(probe)
    failure = None
    try:
        program.run(kernel)
    except HungTask as e:
        failure = Failure("hung_task", e.report)
    except ScheduleMismatch:
        raise
    except Exception:
        failure = Failure("exception", traceback.format_exc())
    finally:
        for tp, probe in probes:
            tp.unregister(probe)
    problems = [r for r in reports if r[0] not in MESSAGE_KINDS]
    if failure is None and problems:
        failure = Failure(*problems[0])
    if ev is not None:
        ev.extend(f"report {kind}" for kind, _ in reports)
    return Execution(sched.choices, failure, reports, sched.nr_switches, sched.log, ev,
                     alloc_failures)


@dataclass
class Result:
    strategy: dict
    runs: int
    seconds: float
    failure: Failure | None = None
    schedule: list[int] | None = None
    exhausted: bool = False     # the strategy had nothing left to try
    failing_run: int | None = None
    shrunk_from: int | None = None
    shrunk_lines: tuple[int, int] | None = None     # (lines before, after) if shrunk
    saved: dict = field(default_factory=dict)
    alloc_failures: Counter = field(default_factory=Counter)    # over every run

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "status": "fail" if self.failure else "pass",
            "strategy": self.strategy,
            "runs": self.runs,
            "seconds": round(self.seconds, 3),
            "runs_per_second": round(self.runs_per_second, 1),
            "exhausted": self.exhausted,
            "alloc_failures": dict(self.alloc_failures),
            "failure": None if self.failure is None else {
                "kind": self.failure.kind,
                "headline": self.failure.headline(),
                "run": self.failing_run,
                "schedule": self.schedule,
                "shrunk_from": self.shrunk_from,
                "shrunk_lines": self.shrunk_lines,
                "text": self.failure.text,
            },
            "saved": self.saved,
        }


def explore_program(program, strategy, budget_runs: int | None = None,
                    budget_seconds: float | None = None, on_run=None) -> Result:
    """Run ``program`` under ``strategy`` until a run fails, the strategy is
    exhausted, or the budget (runs, seconds) is spent.  ``on_run(n)`` is
    called after each run (progress display)."""
    start = time.perf_counter()
    runs = 0
    exhausted = False
    alloc_failures: Counter = Counter()
    while True:
        if budget_runs is not None and runs >= budget_runs:
            break
        if budget_seconds is not None and time.perf_counter() - start >= budget_seconds:
            break
        if not strategy.new_execution():
            exhausted = True
            break
        ex = execute(program, strategy)
        runs += 1
        alloc_failures.update(ex.alloc_failures)
        if on_run is not None:
            on_run(runs)
        if ex.failure is not None:
            return Result(strategy.describe(), runs, time.perf_counter() - start,
                          ex.failure, ex.schedule, failing_run=runs - 1,
                          alloc_failures=alloc_failures)
    return Result(strategy.describe(), runs, time.perf_counter() - start, exhausted=exhausted,
                  alloc_failures=alloc_failures)


class Nondeterminism(Exception):
    """The same program and schedule gave two different runs."""


def check_determinism(program, schedule) -> Execution:
    """Replay ``schedule`` twice, strictly, and compare every decision, every
    lock and scheduling event and every report; raise ``Nondeterminism`` on
    the first difference.  Returns the execution."""
    try:
        a = execute(program, Replay(schedule, strict=True), log=True, events=True)
        b = execute(program, Replay(schedule, strict=True), log=True, events=True)
    except ScheduleMismatch as e:
        raise Nondeterminism(f"the recorded schedule does not fit the run: {e}") from None
    for what, x, y in (("decisions", a.log, b.log), ("events", a.events, b.events),
                       ("reports", a.reports, b.reports)):
        if x != y:
            i = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
            raise Nondeterminism(
                f"{what} differ at #{i}: {x[i] if i < len(x) else '(end)'!r} "
                f"vs {y[i] if i < len(y) else '(end)'!r}")
    return a


def preemptions(log) -> int:
    """How many decisions in a log picked another task while the current
    one could have gone on."""
    return sum(1 for entry in log
               if len(entry) == 3 and entry[1] in entry[0] and entry[2] != entry[1])


def _normalise(ex: Execution) -> list[int]:
    """The schedule that Replay needs to repeat ``ex``: its choices without
    the trailing ones that Replay's non-preemptive default makes anyway."""
    s = list(ex.schedule)
    log = ex.log
    while s and log and len(log[-1]) == 3:
        runnable, current, pick = log[-1]
        default = current if current in runnable else runnable[0]
        if pick != default:
            break
        s.pop()
        log = log[:-1]
    return s


def shrink(program, schedule, kind: str, max_runs: int = 200) -> list[int]:
    """A schedule with fewer preemptions and fewer choices that still fails
    with the same ``kind``: greedy passes (drop the tail, make one preempting
    decision non-preemptive, delete one choice) until none helps or
    ``max_runs`` replays are spent."""
    runs = 0

    def attempt(s):
        nonlocal runs
        runs += 1
        ex = execute(program, Replay(s), log=True)
        if ex.failure is not None and ex.failure.kind == kind:
            return ex
        return None

    first = attempt(schedule)
    if first is None:
        return list(schedule)
    best, best_log = _normalise(first), first.log
    best_cost = (preemptions(best_log), len(best))

    def better(ex):
        nonlocal best, best_log, best_cost
        s = _normalise(ex)
        cost = (preemptions(ex.log), len(s))
        if cost < best_cost:
            best, best_log, best_cost = s, ex.log, cost
            return True
        return False

    progress = True
    while progress and runs < max_runs:
        progress = False
        # 1. A shorter prefix (Replay continues non-preemptively).
        n = 0
        while n < len(best) and runs < max_runs:
            ex = attempt(best[:n])
            if ex is not None and better(ex):
                progress = True
                break
            n = n * 2 + 1
        # 2. Undo one preemption: pick the current task instead.
        for i, entry in enumerate(best_log):
            if runs >= max_runs or i >= len(best):
                break
            if len(entry) == 3 and entry[1] in entry[0] and entry[2] != entry[1]:
                ex = attempt(best[:i] + [entry[1]] + best[i + 1:])
                if ex is not None and better(ex):
                    progress = True
                    break
        # 3. Delete one choice.
        for i in range(len(best) - 1, -1, -1):
            if runs >= max_runs:
                break
            ex = attempt(best[:i] + best[i + 1:])
            if ex is not None and better(ex):
                progress = True
                break
    return best


def shrink_scenario(text: str, schedule: list[int], kind: str, make_program,
                    max_runs: int = 400, max_seconds: float = 20.0) -> tuple[str, list[int]]:
    """Delete scenario lines while the scenario, replayed leniently with
    ``schedule``, still fails with the same ``kind``, within ``max_runs``
    replays and ``max_seconds``.  Returns the smaller scenario and the
    schedule its failing run took."""
    schedules = {text: schedule}

    def still_fails(sc, cand: str) -> bool:
        ex = execute(make_program(sc), Replay(schedule))
        if ex.failure is None or ex.failure.kind != kind:
            return False
        schedules[cand] = ex.schedule
        return True

    best = delete_lines(text, still_fails, max_runs, max_seconds)
    return best, schedules[best]
