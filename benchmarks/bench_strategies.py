"""How often each strategy's schedules fail a scenario: failing runs per
1000, by seed, every run counted (the search does not stop at the first).

    python -m benchmarks.bench_strategies FILE [--runs N] [--seeds N]
        [--strategies random,pct:depth=2,contend:noise=0.25] [--variant NAME]

A strategy is its command-line name with parameters after a colon
(``pct:depth=2``, ``pct:depth=1-3``, ``contend:noise=0.1,depth=2``).  The
runs start from the snapshot after the scenario's sequential prefix, as
``anonvma explore`` does; a seed draws the same schedules on any machine,
so the figures are exact counts, not timings.
"""

from __future__ import annotations

import argparse

from anonvma.explore.prefix import Prefixed
from anonvma.explore.runner import execute
from anonvma.explore.strategies import make_strategy
from anonvma.scenario import parse_file
from anonvma.session import Config, Session

DEFAULT = "random,pct:depth=2,pct:depth=1-3,contend"


def parse_spec(spec: str) -> tuple[str, dict]:
    name, _, rest = spec.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key == "depth":
            lo, _, hi = value.partition("-")
            params[key] = (int(lo), int(hi)) if hi else int(lo)
        else:
            params[key] = float(value)
    return name, params


def specs(text: str) -> list[str]:
    """Split on the commas between strategies, not those between parameters."""
    out: list[str] = []
    for part in text.split(","):
        if out and "=" in part and ":" not in part:
            out[-1] += "," + part
        else:
            out.append(part)
    return out


def failures(program, name: str, params: dict, seed: int, runs: int) -> int:
    strategy = make_strategy(name, seed=seed, **params)
    hits = 0
    for _ in range(runs):
        strategy.new_execution()
        hits += execute(program, strategy).failure is not None
    return hits


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("--runs", type=int, default=1000, help="runs per seed (default 1000)")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    p.add_argument("--strategies", default=DEFAULT, help=f"(default {DEFAULT})")
    p.add_argument("--variant", help="the era (default: the scenario's)")
    args = p.parse_args()
    program = Prefixed(Session(parse_file(args.file), Config(variant=args.variant, trace=False)))
    for spec in specs(args.strategies):
        name, params = parse_spec(spec)
        hits = [failures(program, name, params, seed, args.runs) for seed in range(args.seeds)]
        per = 1000 * sum(hits) / (args.runs * args.seeds)
        print(f"{spec:28} {sum(hits):5}/{args.runs * args.seeds}  {per:6.1f} per 1000  "
              f"by seed {' '.join(map(str, hits))}", flush=True)


if __name__ == "__main__":
    main()
