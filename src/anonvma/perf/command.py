"""``anonvma perf``: run a workload on several eras and CPU counts, print
the tables, and write plots, a Perfetto trace or JSON if asked."""

from __future__ import annotations

import json
import sys

from . import report, run_workload
from .costs import CostsError, load_costs
from .workloads import WORKLOADS

MAX_CPUS = 256


class PerfError(Exception):
    """A message for the user (exit status 2)."""


def cpu_list(text: str) -> list[int]:
    try:
        cpus = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise PerfError(f"--cpus {text}: write CPU counts separated by commas, "
                        "e.g. 1,2,4,8,16,40") from None
    if not cpus or any(n < 1 or n > MAX_CPUS for n in cpus):
        raise PerfError(f"--cpus {text}: each count from 1 to {MAX_CPUS}")
    return sorted(set(cpus))


def perf(args) -> int:
    try:
        costs = load_costs(args.costs)
    except CostsError as e:
        raise PerfError(str(e)) from None
    if args.workload not in WORKLOADS:
        raise PerfError(f"unknown workload {args.workload!r}: known are "
                        + ", ".join(WORKLOADS) + ", and 'calibrate'")
    variants = args.variants or ["v2.6.39", "v3.0-rc1", "v3.0"]
    cpus = cpu_list(args.cpus)
    workload = WORKLOADS[args.workload]
    runs = {}
    from rich.progress import Progress
    with Progress(transient=True, disable=args.json or not sys.stderr.isatty(),
                  console=None) as progress:
        job = progress.add_task(f"{args.workload}", total=len(variants) * len(cpus))
        for v in variants:
            for n in cpus:
                trace = bool(args.trace) and v == variants[-1] and n == cpus[-1]
                runs[v, n] = run_workload(args.workload, v, n, costs, seed=args.seed,
                                          pressure=args.pressure, trace=trace,
                                          preempt=args.preempt)
                progress.advance(job)
    if args.json:
        json.dump(report.as_json(runs, variants, cpus), sys.stdout, indent=1)
        print()
    else:
        print(report.throughput_table(runs, variants, cpus, workload.unit))
        print()
        print(report.lock_share_table(runs, variants, cpus[-1]))
        print()
        print(report.caller_table(runs, variants, cpus[-1]))
        for v in variants:
            r = runs[v, cpus[-1]]
            tail = report.hold_tail(r)
            print(f"\n/proc/lock_stat, {v} at {cpus[-1]} CPUs (hold p99 {tail['p99_us']:.1f} us, "
                  f"max {tail['max_us']:.1f} us; {r.reclaims} direct reclaims, "
                  f"{r.reclaims_locked} of them holding an anon_vma lock)")
            print(report.lock_stat_lines(r))
    if args.plot:
        for path in report.plot(runs, variants, cpus, args.workload, workload.unit, args.plot):
            print(f"wrote {path}", file=sys.stderr)
    if args.trace:
        slices = report.write_trace(runs[variants[-1], cpus[-1]], args.trace)
        print(f"wrote {args.trace}: {sum(slices.values())} slices on {len(slices)} tracks, "
              "read back with the Perfetto trace schema", file=sys.stderr)
    return 0
