"""The exploration engine in one table, every figure against a baseline
measured in the same run.

    python -m benchmarks.bench_explore [--seconds S] [--seeds N]

- schedules per second of the small concurrent scenario (lockdep and
  checks, bench_sched.SCENARIO) and of the seed on v3.0-rc2 (lockdep off,
  as the example says), random strategy, on 1 and 2 processes; the
  baseline is the same program under the sequential strategy booting
  every run afresh (one schedule, no greenlet, no snapshot);
- where a run starts: the prefix rerun from boot, the snapshot's machine
  put back after a run (explore.prefix), or a child forked after the
  prefix, per run, against the rerun;
- cold start to a shrunk, saved deadlock report for the seed (``anonvma
  explore`` in a new process, PCT, seeds 0..N-1), median, against the cold
  start of the interpreter and model (``anonvma variants``);
- lockdep ns per acquire+release with a warm chain cache against the bare
  lock.

Absolute figures depend on the machine; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from anonvma.demo import example
from anonvma.explore.parallel import explore_parallel
from anonvma.explore.prefix import Prefixed
from anonvma.explore.runner import execute
from anonvma.explore.strategies import Random, Sequential
from anonvma.scenario import parse, parse_file
from anonvma.session import Config, Session

from .bench_sched import SCENARIO, lockdep_cost, rate

SEED = example("seed_fork_under_pressure.scn")


def programs():
    return (("small scenario", Session(parse(SCENARIO), Config(trace=False))),
            ("seed, v3.0-rc2", Session(parse_file(str(SEED)),
                                       Config(variant="v3.0-rc2", checks=False, trace=False))))


def schedule_rates(seconds: float) -> list[tuple[str, float, float, float]]:
    """(program, sequential, 1 process, 2 processes) in schedules/s."""
    rows = []
    for name, session in programs():
        base = rate(lambda: execute(session, Sequential()), seconds)
        program = Prefixed(session)
        runs = max(20, int(base * seconds))
        one = explore_parallel(program, "random", 0, {}, 1, runs, None).runs_per_second
        two = explore_parallel(program, "random", 0, {}, 2, 2 * runs, None).runs_per_second
        rows.append((name, base, one, two))
    return rows


def schedules(seconds: float) -> None:
    print(f"{'schedules/s':<34}{'sequential':>11}{'1 process':>11}{'ratio':>7}"
          f"{'2 processes':>13}{'ratio':>7}")
    for name, base, one, two in schedule_rates(seconds):
        print(f"  {name:<32}{base:>11.0f}{one:>11.0f}{one / base:>7.2f}"
              f"{two:>13.0f}{two / base:>7.2f}")


def prefix_start(seconds: float) -> None:
    """What starting a run costs three ways: boot and rerun the prefix,
    put the snapshot's machine back after a run, fork a child of a process
    that ran it."""
    print(f"{'a run starts after its prefix':<34}{'rerun':>11}{'snapshot':>11}{'ratio':>7}"
          f"{'fork':>13}{'ratio':>7}")
    for name, session in programs():
        until = max(session.prefix_checks)
        program = Prefixed(session)

        def rerun():
            session.boot().run_steps(until=until)

        def fork():
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)

        a = 1e6 / rate(rerun, seconds)
        b = 1e6 * restore_seconds(program, seconds)
        c = 1e6 / rate(fork, seconds)
        print(f"  {name + ' (us)':<32}{a:>11.0f}{b:>11.0f}{a / b:>7.2f}{c:>13.0f}{a / c:>7.2f}")


def restore_seconds(program, seconds: float) -> float:
    """What putting the machine back costs after a run (random schedules):
    ``boot()`` of a machine a run has just used."""
    strategy = Random(seed=0)
    spent, n, deadline = 0.0, 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline or n == 0:
        strategy.new_execution()
        execute(program, strategy)
        start = time.perf_counter()
        program.boot()
        spent += time.perf_counter() - start
        n += 1
    return spent / n


def cold_start_times(seeds: int) -> tuple[float, list[float]]:
    """A new process: explore the seed until the deadlock, shrink and save
    it; seconds for each seed, and the median start of ``anonvma variants``."""
    def wall(*args) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "anonvma", *args], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        return time.perf_counter() - t

    base = statistics.median(wall("variants") for _ in range(3))
    times = []
    with tempfile.TemporaryDirectory() as d:
        for seed in range(seeds):
            times.append(wall("explore", str(SEED), "--variant", "v3.0-rc2", "--strategy", "pct",
                              "--seed", str(seed), "--runs", "3000", "--save", d))
    return base, times


def cold_start(seeds: int) -> None:
    base, times = cold_start_times(seeds)
    t = statistics.median(times)
    print(f"{'cold start to a saved deadlock':<34}{'startup':>11}{'report':>11}{'ratio':>7}")
    print(f"  {f'seed, pct, median of {seeds} (s)':<32}{base:>11.2f}{t:>11.2f}{t / base:>7.2f}"
          f"   (each: {' '.join(f'{x:.2f}' for x in times)})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    p.add_argument("--seeds", type=int, default=5, help="seeds for the cold start")
    args = p.parse_args(argv)
    schedules(args.seconds)
    prefix_start(args.seconds)
    cold_start(args.seeds)
    lockdep_cost(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
