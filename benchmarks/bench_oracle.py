"""Benchmark of the live-kernel oracle: scenarios compared per second, each
run on the live kernel and on the model and the two traces compared, as
``anonvma check-kernel`` does; beside it, the kernel runs alone and the model
runs alone, measured in the same run.

    python -m benchmarks.bench_oracle [-n ROUNDS]

Needs root (tracefs); without it, says why and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from anonvma.session import Config, Session
from anonvma.oracle import KernelOracle, OracleUnavailable
from anonvma.scenario import parse_file

SHARED = Path(__file__).resolve().parent.parent / "tests" / "scenarios" / "shared"


def bench(rounds: int) -> dict[str, float]:
    """Seconds for ``rounds`` passes over the shared scenarios: on the kernel
    alone, on the model alone, and both compared (``mismatches`` counted)."""
    paths = [str(scn) for scn in sorted(SHARED.glob("*.scn"))]
    scenarios = {path: parse_file(path) for path in paths}
    out = {"runs": rounds * len(paths), "mismatches": 0}
    with KernelOracle() as oracle:
        start = time.perf_counter()
        for _ in range(rounds):
            for path in paths:
                oracle.run(path)
        out["kernel"] = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(rounds):
            for path in paths:
                Session(scenarios[path], Config(checks=False, lockdep=False)).run()
        out["model"] = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(rounds):
            for path in paths:
                kernel, model = oracle.run(path), Session(scenarios[path], Config(checks=False, lockdep=False)).run()
                out["mismatches"] += (kernel.events, kernel.others) != (model.events, model.others)
        out["compared"] = time.perf_counter() - start
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--rounds", type=int, default=10,
                    help="passes over the shared scenarios (default 10)")
    args = ap.parse_args(argv)
    try:
        r = bench(args.rounds)
    except OracleUnavailable as ex:
        print(f"bench_oracle: skipped: {ex}")
        return 0
    n = r["runs"]
    print(f"bench_oracle: {n / r['compared']:.1f} scenarios compared per second "
          f"(live kernel alone {n / r['kernel']:.1f}/s, model alone {n / r['model']:.1f}/s; "
          f"{n} scenarios per measurement, {r['mismatches']} mismatches)")
    return 1 if r["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
