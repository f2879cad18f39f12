"""Running a concurrent program under a strategy: one execution, a search,
and the determinism check.

A *program* is anything whose ``boot()`` gives a machine: ``.kernel``, the
``reports`` heard on its bus, and ``run()``, which runs the program under
the scheduler installed as ``kernel.sched``.  A scenario ``Session``
(anonvma.session) is one; the tests have toy ones.  An execution failed if
anything was reported on the bus (lockdep, hung task, invariant, leak, BUG)
or the program raised.
"""

from __future__ import annotations

import gc
import math
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

from ..session import MESSAGE_KINDS
from ..trace import rmap_cache_kind, rmap_call_site
from .schedule import preemptions
from .scheduler import Scheduler
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
    schedule: list                  # the decisions, Pick and Draw records
    failure: Failure | None
    reports: list[tuple[str, str]]
    nr_switches: int
    events: list[str] | None = None
    # failed rmap allocations by trace token ("AVC:clone/fork"...): the
    # GFP_NOWAIT tries of anon_vma_clone whose fallback then ran, mostly
    alloc_failures: Counter = field(default_factory=Counter)


class AllocFailures(Counter):
    """Failed rmap allocations by trace token: the probe on
    ``slab_out_of_memory`` behind ``Execution.alloc_failures``."""

    def __call__(self, call_site, cache, gfp) -> None:
        kind = rmap_cache_kind(cache)
        if kind is not None:
            self[f"{kind}:{rmap_call_site(call_site)}"] += 1


def execute(program, strategy, events: bool = False) -> Execution:
    """One run of ``program`` with ``strategy`` deciding every interleaving.
    ``events`` keeps the lock and scheduling events: what the determinism
    check compares besides the decisions and the reports."""
    # A run's machine is cyclic garbage once the run is over.  Left to the
    # collector's thresholds, it would walk the live machine several times
    # during the run and promote the dead ones of earlier runs to the old
    # generation, whose collections walk every object of the process; one
    # young collection after the run frees the machine and nothing else.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _execute(program, strategy, events)
    finally:
        if enabled:
            gc.collect(0)
            gc.enable()


def _execute(program, strategy, events: bool) -> Execution:
    machine = program.boot()
    kernel = machine.kernel
    trace = kernel.trace
    probes = []
    # A machine restored after its prefix (prefix.Prefixed) counts since boot.
    alloc_failures = getattr(machine, "alloc_failures", None)
    if alloc_failures is None:
        alloc_failures = AllocFailures()
        probes.append((trace.slab_out_of_memory, alloc_failures))
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
    sched = kernel.sched = Scheduler(kernel, strategy, kernel.sched)
    failure = None
    try:
        machine.run()
    except ScheduleMismatch:
        raise
    except Exception:
        failure = Failure("exception", traceback.format_exc())
    finally:
        for tp, probe in probes:
            tp.unregister(probe)
    # copied: a machine restored after its prefix is restored again for the next run
    reports = list(machine.reports)
    problems = [r for r in reports if r[0] not in MESSAGE_KINDS]
    if failure is None and problems:
        failure = Failure(*problems[0])
    if ev is not None:
        ev.extend(f"report {kind}" for kind, _ in reports)
    return Execution(sched.decisions, failure, reports, sched.nr_switches, ev,
                     Counter(alloc_failures) if alloc_failures else Counter())


@dataclass
class Result:
    strategy: dict
    runs: int
    seconds: float
    failure: Failure | None = None
    schedule: list | None = None
    exhausted: bool = False     # the strategy had nothing left to try
    failing_run: int | None = None      # counted from 1
    shrunk_from: int | None = None
    shrunk_lines: tuple[int, int] | None = None     # (lines before, after) if shrunk
    saved: dict = field(default_factory=dict)
    alloc_failures: Counter = field(default_factory=Counter)    # over every run
    concurrent: bool = True     # the program has a together block

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
                "schedule": [d.to_json() for d in self.schedule],
                "preemptions": preemptions(self.schedule),
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
    if budget_seconds is not None and not (budget_seconds > 0 and math.isfinite(budget_seconds)):
        raise ValueError(f"a budget of seconds must be a positive number, not {budget_seconds}")
    if budget_runs is not None and budget_runs < 1:
        raise ValueError(f"a budget of runs must be at least 1, not {budget_runs}")
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
        if ex.alloc_failures:
            alloc_failures.update(ex.alloc_failures)
        if on_run is not None:
            on_run(runs)
        if ex.failure is not None:
            return Result(strategy.describe(), runs, time.perf_counter() - start,
                          ex.failure, ex.schedule, failing_run=runs,
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
        a = execute(program, Replay(schedule, strict=True), events=True)
        b = execute(program, Replay(schedule, strict=True), events=True)
    except ScheduleMismatch as e:
        raise Nondeterminism(f"the recorded schedule does not fit the run: {e}") from None
    for what, x, y in (("decisions", a.schedule, b.schedule), ("events", a.events, b.events),
                       ("reports", a.reports, b.reports)):
        if x != y:
            i = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
            raise Nondeterminism(
                f"{what} differ at #{i}: {x[i] if i < len(x) else '(end)'!r} "
                f"vs {y[i] if i < len(y) else '(end)'!r}")
    return a
