"""Scheduler and lockdep speed, as ratios against baselines taken in the same run.

    .venv/bin/python benchmarks/bench_sched.py [--seconds S]

1. Schedules per second: whole runs of small concurrent programs under the
   seeded random strategy (greenlet tasks, a decision at every scheduling
   point), against the same program run by the sequential scheduler (no
   greenlets, no decisions).  ``ordered`` is the anchors' toy explorer load,
   3 tasks x 2 locks x 5 iterations; ``scenario`` a concurrent scenario on
   the 6.18 model (fork, munmap, mprotect and a fault in one together block),
   booted afresh with its trace lines, and as ``explore`` runs it: without
   trace lines, from the snapshot after its sequential prefix.
2. lockdep per acquire with a warm chain cache: a nested pair of mutexes
   taken and released in a loop, against the bare lock (no probe on the
   tracepoints) and against a no-op probe (the cost of the tracepoint call).

Absolute numbers depend on the machine; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from anonvma.explore.parallel import explore_parallel  # noqa: E402
from anonvma.explore.prefix import Prefixed  # noqa: E402
from anonvma.explore.runner import execute  # noqa: E402
from anonvma.explore.strategies import Random  # noqa: E402
from anonvma.kernel.kernel.locking.lock import lock_class_key  # noqa: E402
from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_unlock  # noqa: E402
from anonvma.scenario import parse  # noqa: E402
from anonvma.session import Config, Session  # noqa: E402
from toy import Ordered, ToyKernel  # noqa: E402

SCENARIO = """\
P0 mmap 0 8
P0 write 0
P0 write 1
P0 fork P1
together
P0 fork P2
P1 write 2
P0 munmap 4 2
P1 mprotect 0 2 r
end
"""


def rate(fn, seconds: float) -> float:
    """Calls of ``fn`` per second, over about ``seconds``."""
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(10):
            fn()
        n += 10
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def sequential_run(program):
    """The same program under the kernel's own sequential scheduler: no
    greenlets, no decisions."""
    program.boot().run()


def schedules(seconds: float) -> None:
    print("schedules per second (random strategy) vs the sequential scheduler")
    explored = Session(parse(SCENARIO), Config(trace=False))
    for name, program, run in (("ordered, no lockdep", Ordered(lockdep=False), None),
                               ("ordered, lockdep", Ordered(lockdep=True), None),
                               ("scenario, lockdep+checks", Session(parse(SCENARIO)), None),
                               ("scenario, as explore runs", explored, Prefixed(explored))):
        base = rate(lambda: sequential_run(program), seconds)
        run = run or program
        strategy = Random(seed=0)

        def one():
            strategy.new_execution()
            execute(run, strategy)

        conc = rate(one, seconds)
        decisions = len(execute(run, Random(seed=1)).schedule)
        print(f"  {name:26} {conc:8.0f}/s  ({decisions} decisions/run)   "
              f"sequential {base:8.0f}/s   ratio {conc / base:.2f}")


def on_two_cores(seconds: float) -> None:
    """The same small scenario explored by ``explore --jobs 2``, against one
    process in the same run."""
    program = Session(parse(SCENARIO))
    runs = int(1000 * seconds)
    one = explore_parallel(program, "random", 0, {}, 1, runs, None)
    two = explore_parallel(program, "random", 0, {}, 2, runs, None)
    print("schedules per second, random strategy, scenario with lockdep+checks")
    print(f"  1 process {one.runs_per_second:8.0f}/s   2 processes {two.runs_per_second:8.0f}/s"
          f"   ratio {two.runs_per_second / one.runs_per_second:.2f}")


def lockdep_ns(seconds: float) -> tuple[float, float, float]:
    """ns per acquire+release: the bare lock, with a no-op probe, with
    lockdep (warm chain cache)."""
    loops = 1000

    def bench(k):
        a = mutex(k, lock_class_key("A"))
        b = mutex(k, lock_class_key("B"))

        def body():
            for _ in range(loops):
                mutex_lock(a)
                mutex_lock(b)
                mutex_unlock(b)
                mutex_unlock(a)
        body()          # warm the chain cache
        return 1e9 / (rate(body, seconds) * loops * 2)

    bare = bench(ToyKernel(lockdep=False))
    k = ToyKernel(lockdep=False)
    for tp in (k.trace.lock_acquire, k.trace.lock_release):
        tp.register(lambda *args: None)
    noop = bench(k)
    warm = bench(ToyKernel(lockdep=True))
    return bare, noop, warm


def lockdep_cost(seconds: float) -> None:
    print("lockdep, warm chain cache: ns per acquire+release vs baselines")
    bare, noop, warm = lockdep_ns(seconds)
    print(f"  bare lock (no probe)        {bare:7.0f} ns   1.00")
    print(f"  no-op probe                 {noop:7.0f} ns   {noop / bare:.2f}")
    print(f"  lockdep (warm chain cache)  {warm:7.0f} ns   {warm / bare:.2f}   "
          f"(lockdep itself: {warm - noop:.0f} ns)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = p.parse_args(argv)
    schedules(args.seconds)
    on_two_cores(args.seconds)
    lockdep_cost(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
