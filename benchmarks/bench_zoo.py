"""The zoo from cold: time to the first report on each buggy era, and the
reports on its fixed era in the same budget, medians over seeds, one core.

    .venv/bin/python benchmarks/bench_zoo.py [--seconds S] [--seeds N] [--bugs B1,B8]
                                             [--programs P]

Targets (issue "Fifteen years of anon_vma bugs"): every bug found, median
under 60 s; zero reports on every fixed era.  A bug not found in the budget
counts as the budget in the median and is marked.  The programs to the
first report are the same on a loaded machine and an idle one (a seed draws
the same programs whatever the load): the row gives their median too, and
``--programs`` bounds each search by programs as well as by seconds, so
that a loaded machine measures what an idle one does in the same time.

Then KASAN's cost: fork+exit with KASAN attached against the same kernel
detached, in turns.  Detached, KASAN is not on any path (it lives in the
probes of the slab tracepoints, which a detached kernel leaves empty), so
the detached figure is the kernel's own; attached is what the zoo pays.
"""

from __future__ import annotations

import argparse
import statistics
import time

from anonvma.kernel.mm.kasan import kasan_init
from anonvma.scenario import parse
from anonvma.session import Config, Session
from anonvma.zoo import others_in
from anonvma.zoo.catalogue import BY_ID
from anonvma.zoo.cold import search

TARGETS = ("B1", "B4", "B5", "B6", "B8", "B9", "B10", "B14", "B17", "3a206a8649f8")
FORK_EXIT = "P0 mmap 0 16\n" + "".join(f"P0 write {i}\n" for i in range(16)) + \
    "".join(f"P0 fork P{i}\nP{i} write {i % 16}\nP{i} exit\n" for i in range(1, 41))


def zoo_row(bug_id: str, seconds: float, seeds: int, programs: int | None = None) -> str:
    bug = BY_ID[bug_id]
    times, counts, fixed_reports, found, passed = [], [], 0, 0, {}
    for seed in range(seeds):
        hit, n = search(bug.buggy, seconds, seed, shrink=False, skip=others_in(bug, bug.buggy),
                        programs=programs)
        times.append(hit.seconds if hit else seconds)
        counts.append(hit.programs if hit else n)
        found += hit is not None
        skip = others_in(bug, bug.fixed)
        clean, _n = search(bug.fixed, seconds, seed, shrink=False, skip=skip, programs=programs)
        fixed_reports += clean is not None
        passed.update(skip.seen)
    median = statistics.median(times)
    mark = "" if found * 2 > seeds else " (not found: budget)"
    return (f"{bug_id:13} {bug.buggy:12} found {found}/{seeds}  median {median:6.1f} s{mark:20} "
            f"programs {statistics.median(counts):6g}  "
            f"{bug.fixed:10} reports {fixed_reports}/{seeds}"
            + (f" (and {', '.join(passed)}, catalogued, present)" if passed else ""))


def fork_exit_seconds(kasan: bool) -> float:
    sc = parse(FORK_EXIT)
    machine = Session(sc, Config(checks=False, lockdep=False)).boot()
    if kasan:
        kasan_init(machine.kernel)
    start = time.perf_counter()
    machine.run()
    return time.perf_counter() - start


def kasan_cost(rounds: int = 15) -> str:
    detached, attached = [], []
    for _ in range(rounds):
        detached.append(fork_exit_seconds(False))
        attached.append(fork_exit_seconds(True))
    d, a = min(detached), min(attached)
    return (f"fork+exit x40: detached {d * 1e3:.2f} ms, KASAN attached {a * 1e3:.2f} ms "
            f"(attached/detached {a / d:.2f})")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="budget per search (60)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per bug (5)")
    ap.add_argument("--bugs", default=",".join(TARGETS), help="comma-separated bug ids")
    ap.add_argument("--programs", type=int, default=None,
                    help="and at most this many programs per search")
    args = ap.parse_args(argv)
    print(f"budget {args.seconds:g} s" + (f" or {args.programs} programs" if args.programs else "")
          + f" per era and seed, {args.seeds} seeds, one process")
    for bug_id in args.bugs.split(","):
        print(zoo_row(bug_id, args.seconds, args.seeds, args.programs), flush=True)
    print(kasan_cost())


if __name__ == "__main__":
    main()
