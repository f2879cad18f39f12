"""The engine's speed in one table, each figure a ratio against a baseline
measured in the same run (``make bench`` prints it first).

    python -m benchmarks.table [--seconds S] [--seeds N] [--avcs N]

- fork + exit of a process with N written VMAs, the model against the live
  kernel (bench_fork_exit), N = 10 ... 10000;
- schedules per second of the small concurrent scenario (lockdep and
  checks) and of the seed on v3.0-rc2, explored on 1 and 2 processes,
  against the same program run sequentially, booting every run afresh
  (bench_explore);
- cold start to a shrunk, saved deadlock report of the seed, median over
  seeds 0 .. N-1, against the start of the interpreter and model;
- lockdep's ns per acquire+release with a warm chain cache, against the
  bare lock (bench_sched);
- memory per live anon_vma_chain with 10^6 of them, against 10^4 (a
  smaller population hides in the allocator's free memory: bench_scale;
  ``--avcs 0`` leaves it out, it needs about a minute and a gigabyte).
"""

from __future__ import annotations

import argparse
import gc
import statistics

from . import bench_explore, bench_fork_exit, bench_sched, bench_scale


def fork_exit_rows(sizes, rounds: int = 5, repeat: int = 3):
    binary = bench_fork_exit.build()
    for n in sizes:
        # built by system calls: a scenario of 10^4 VMAs is beyond the format's limit
        kernel, parent, _ = bench_scale.build(n, 0)
        model, live = float("inf"), None
        for _ in range(repeat):
            model = min(model, bench_fork_exit.model_ns(kernel, parent, rounds))
            k = bench_fork_exit.kernel_ns(binary, n, max(rounds, 20)) if binary else None
            if k is not None:
                live = k if live is None else min(live, k)
        yield f"fork+exit, {n} VMAs (ms)", live and live / 1e6, model / 1e6


def bytes_per_avc(avcs: int, vmas: int = 1000) -> float:
    gc.collect()
    before = bench_scale.rss_bytes()
    kernel, _parent, _kids = bench_scale.build(vmas, max(0, -(-(avcs // vmas - 1) // 2)))
    return (bench_scale.rss_bytes() - before) / bench_scale.live_avcs(kernel)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time per rate measurement")
    ap.add_argument("--seeds", type=int, default=5, help="seeds of the cold start")
    ap.add_argument("--avcs", type=int, default=10**6, help="live AVCs of the memory figure")
    args = ap.parse_args(argv)
    print(f"{'':<44}{'baseline':>10}{'value':>10}{'ratio':>8}   baseline")

    def row(name, base, value, what):
        ratio = f"{value / base:>8.2f}" if base else f"{'-':>8}"
        shown = f"{base:>10.3g}" if base else f"{'-':>10}"
        print(f"{name:<44}{shown}{value:>10.3g}{ratio}   {what}")

    for name, live, model in fork_exit_rows((10, 100, 1000, 10000)):
        row(name, live, model, "the live kernel")
    for name, base, one, two in bench_explore.schedule_rates(args.seconds):
        row(f"schedules/s, {name}, 1 process", base, one, "sequential, fresh boots")
        row(f"schedules/s, {name}, 2 processes", base, two, "sequential, fresh boots")
    start, times = bench_explore.cold_start_times(args.seeds)
    row(f"cold start to a saved deadlock (s, {args.seeds} seeds)", start,
        statistics.median(times), "interpreter and model start")
    bare, _noop, warm = bench_sched.lockdep_ns(args.seconds / 2)
    row("lockdep, ns per acquire+release", bare, warm, "the bare lock")
    if args.avcs:
        small = args.avcs // 100
        row(f"bytes per live AVC at {args.avcs}", bytes_per_avc(small),
            bytes_per_avc(args.avcs), f"at {small} AVCs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
