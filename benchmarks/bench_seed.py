"""The seed under exploration: how long until the first real deadlock on
v3.0-rc2, and how many runs per second exploration makes under memory
pressure (anonvma/examples/seed_fork_under_pressure.scn, a 256-page zone with swap).

    python -m benchmarks.bench_seed [--seeds 8] [--budget 2000]

Times are relative: the table gives, per strategy, the runs and seconds to
the first deadlock over several seeds, and the runs per second of the same
exploration on v3.0 (which never deadlocks) as the baseline of the same run.
"""

from __future__ import annotations

import argparse
import statistics

from anonvma.demo import example
from anonvma.explore.runner import explore_program
from anonvma.explore.strategies import make_strategy
from anonvma.scenario import parse_file
from anonvma.session import Config, Session

SEED = example("seed_fork_under_pressure.scn")


def first_deadlock(program, strategy: str, seed: int, budget: int):
    r = explore_program(program, make_strategy(strategy, seed=seed), budget_runs=budget)
    found = r.failure is not None and r.failure.kind == "hung_task"
    return found, r.runs, r.seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--budget", type=int, default=2000)
    args = ap.parse_args(argv)
    sc = parse_file(str(SEED))
    bad = Session(sc, Config(variant="v3.0-rc2", checks=False))
    good = Session(sc, Config(variant="v3.0", checks=False))
    print(f"{'strategy':<9}{'found':>7}{'runs to deadlock':>18}{'s to deadlock':>15}"
          f"{'runs/s rc2':>12}{'runs/s v3.0':>13}")
    for strategy in ("pct", "random"):
        found, runs, secs = [], [], []
        for seed in range(args.seeds):
            ok, n, s = first_deadlock(bad, strategy, seed, args.budget)
            if ok:
                found.append(seed)
                runs.append(n)
                secs.append(s)
        base = explore_program(good, make_strategy(strategy, seed=0), budget_runs=300)
        rate = sum(runs) / sum(secs) if secs else 0.0
        print(f"{strategy:<9}{len(found):>4}/{args.seeds:<2}"
              f"{statistics.median(runs) if runs else '-':>18}"
              f"{statistics.median(secs) if secs else float('nan'):>15.2f}"
              f"{rate:>12.0f}{base.runs_per_second:>13.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
