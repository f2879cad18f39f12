"""The invariant checks on a fork chain (P0 writes a page, then P0 forks
P1, P1 forks P2, ...): ``run`` (every invariant after every line) against
``trace`` (no checks) on the same scenario, as a ratio per depth, with the
scoped checks (the default) and, for the smaller depths, the full walk.
The target is run/trace within 5x at depth 400.  The two sides take turns
(``--rounds`` times per depth) and each keeps its fastest round.

    python -m benchmarks.bench_checks [--depths 100,200,400] [--full-up-to 200] [--rounds R]
"""

from __future__ import annotations

import argparse
import time

from anonvma.scenario import parse
from anonvma.session import Config, Session

TARGET = 5.0


def fork_chain(depth: int) -> str:
    return "P0 mmap 0 1\nP0 write 0\n" + "".join(f"P{i} fork P{i + 1}\n" for i in range(depth))


def seconds(text: str, checks) -> float:
    """One sequential run as ``anonvma trace`` (checks False) or ``run`` does it."""
    start = time.perf_counter()
    Session(parse(text), Config(checks=checks)).run()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_checks")
    ap.add_argument("--depths", default="100,200,400")
    ap.add_argument("--full-up-to", type=int, default=200,
                    help="also time the full walk up to this depth (it is cubic)")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args(argv)
    print(f"{'depth':>6} {'run/trace':>10} {'full/trace':>11}   (target: run/trace <= {TARGET:g})")
    for depth in map(int, args.depths.split(",")):
        text = fork_chain(depth)
        kinds = [False, "scoped"] + (["full"] if depth <= args.full_up_to else [])
        best = dict.fromkeys(kinds, float("inf"))
        for _ in range(args.rounds):
            for checks in kinds:
                best[checks] = min(best[checks], seconds(text, checks))
        ratio = best["scoped"] / best[False]
        full = f"{best['full'] / best[False]:10.1f}x" if "full" in best else f"{'-':>11}"
        verdict = "ok" if ratio <= TARGET else "over the target"
        print(f"{depth:>6} {ratio:9.2f}x {full}   {verdict}")


if __name__ == "__main__":
    main()
