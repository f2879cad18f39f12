"""Benchmark of the live-kernel oracle: shared scenarios run and compared
with their .expected traces, per second.

    python benchmarks/bench_oracle.py [-n ROUNDS]

Needs root (tracefs); without it, says why and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from anonvma.oracle import KernelOracle, OracleUnavailable

SHARED = Path(__file__).resolve().parent.parent / "tests" / "scenarios" / "shared"


def expected(scn: Path) -> list[str]:
    lines = scn.with_suffix(".expected").read_text().splitlines()
    others = [ln for ln in lines if ln.split()[1] == "maps" or ln.split()[1].startswith("!")]
    return [ln for ln in lines if ln not in others] + others


def bench(rounds: int) -> tuple[int, int, float]:
    """(runs, mismatches, seconds) of rounds passes over the shared scenarios."""
    scenarios = [(str(scn), expected(scn)) for scn in sorted(SHARED.glob("*.scn"))]
    mismatches = 0
    with KernelOracle() as oracle:
        start = time.perf_counter()
        for _ in range(rounds):
            for path, want in scenarios:
                mismatches += oracle.run(path).lines != want
        elapsed = time.perf_counter() - start
    return rounds * len(scenarios), mismatches, elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--rounds", type=int, default=10,
                    help="passes over the shared scenarios (default 10)")
    args = ap.parse_args(argv)
    try:
        runs, mismatches, elapsed = bench(args.rounds)
    except OracleUnavailable as ex:
        print(f"bench_oracle: skipped: {ex}")
        return 0
    print(f"bench_oracle: {runs} scenarios in {elapsed:.2f} s: "
          f"{runs / elapsed:.1f} scenarios/s on the live kernel, {mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
