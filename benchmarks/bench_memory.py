"""Memory of a long exploration: RSS sampled while exploring a pressure
scenario, to show it stays flat (every task of a run ends or is thrown away
with the run, kswapd included).

    python -m benchmarks.bench_memory [--runs 10000] [--every 500]

Prints the RSS after each ``--every`` runs and the growth after warm-up
(the first sample) as the figure to compare; no absolute target.
"""

from __future__ import annotations

import argparse
import resource
import time

from anonvma.demo import example
from anonvma.explore.runner import explore_program
from anonvma.explore.strategies import Pct
from anonvma.scenario import parse_file
from anonvma.session import Config, Session


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--variant", default="v3.0")
    args = ap.parse_args(argv)
    session = Session(parse_file(str(example("seed_fork_under_pressure.scn"))),
                      Config(variant=args.variant))
    strategy = Pct(seed=2)
    samples = []
    start = time.perf_counter()
    done = 0
    while done < args.runs:
        r = explore_program(session, strategy, budget_runs=args.every)
        done += r.runs
        samples.append(rss_mb())
        print(f"  {done:6} runs  {samples[-1]:7.1f} MB  ({done / (time.perf_counter() - start):.0f} runs/s)")
        if r.failure is not None:
            print(f"  stopped: {r.failure.headline()}")
            break
    print(f"RSS growth after warm-up: {samples[-1] - samples[0]:+.1f} MB over "
          f"{done - args.every} runs (first sample {samples[0]:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
