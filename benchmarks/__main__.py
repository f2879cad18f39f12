"""``make bench``: the table of the engine's figures, then every benchmark,
each printing ratios against a baseline measured in the same run (never
absolute targets)."""

from __future__ import annotations

from . import (
    bench_campaign, bench_explore, bench_fork_exit, bench_oracle, bench_perf, bench_scale,
    bench_sched, bench_seed, table,
)

for name, bench, args in (
    ("the engine in one table", table, []),
    ("fork + exit against the live kernel", bench_fork_exit, []),
    ("10^6 live anon_vma_chains", bench_scale, []),
    ("schedule exploration and lockdep", bench_sched, ["--seconds", "2"]),
    ("the seed under exploration", bench_seed, ["--seeds", "4", "--budget", "1500"]),
    ("the exploration engine", bench_explore, ["--seconds", "2"]),
    ("the live-kernel oracle", bench_oracle, ["-n", "5"]),
    ("locking changes on 40 simulated CPUs", bench_perf, []),
    ("campaign backends and coverage", bench_campaign, []),
):
    print(f"== {name} ({bench.__name__})")
    bench.main(args)
    print()
