"""Campaign throughput per backend, and the cost of coverage, as ratios
against baselines taken in the same run.

    .venv/bin/python benchmarks/bench_campaign.py [--explorations N] [--runs R]

1. Explorations per second of one campaign (a concurrent scenario on the
   6.18 model, N explorations of R runs each, coverage on) on each backend
   with 1 and 2 workers: in-process (the baseline), multiprocessing, and a
   local Ray cluster (started before its timing: a cluster is started once
   and reused; its start is reported on its own).  Ray's overhead is its
   time against multiprocessing's with as many workers.
2. Coverage: the same exploration with every run profiled, with the
   sampled profile the campaign uses, and without coverage (the baseline).

Absolute numbers depend on the machine (and on what else runs on it); the
ratios are what to compare.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

from anonvma.campaign import coverage, make_plan, open_campaign, run_campaign
from anonvma.campaign.backends import InProcess, Processes, RayCluster
from anonvma.demo import example

SCENARIO = example("fork_beside_munmap_and_mprotect.scn").read_text()


class Started:
    """A backend entered once, so that repeated campaigns time the work
    and not the start of a cluster."""

    def __init__(self, backend):
        self.backend = backend
        t = time.perf_counter()
        backend.__enter__()
        self.start_seconds = time.perf_counter() - t
        self.slots = backend.slots
        self.submit, self.wait, self.describe = backend.submit, backend.wait, backend.describe

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        self.backend.__exit__(None, None, None)


def campaign_seconds(backend, scn: Path, explorations: int, runs: int, cov: bool = True) -> float:
    plan = make_plan([scn], variants=["v6.18"], strategies=["random"], seeds=explorations,
                     runs=runs, coverage=cov)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "c"
        open_campaign(out, plan)
        t = time.perf_counter()
        run_campaign(plan, out, backend)
        return time.perf_counter() - t


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--explorations", type=int, default=8)
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args(argv)
    n, runs = args.explorations, args.runs
    with tempfile.TemporaryDirectory() as tmp:
        scn = Path(tmp) / "race.scn"
        scn.write_text(SCENARIO)

        print(f"1. {n} explorations of {runs} runs (explorations/s; ratio to in-process)")
        base = campaign_seconds(InProcess(), scn, n, runs)
        print(f"   in-process        1 worker : {n / base:6.2f}/s  1.00")
        seconds = {}
        for jobs in (1, 2):
            t = seconds["mp", jobs] = campaign_seconds(Processes(jobs), scn, n, runs)
            print(f"   multiprocessing   {jobs} worker{'s' if jobs > 1 else ' '}: "
                  f"{n / t:6.2f}/s  {base / t:.2f}")
        if importlib.util.find_spec("ray") is None:
            print("   ray: not installed (pip install 'anonvma[ray]')")
        else:
            for jobs in (1, 2):
                cluster = Started(RayCluster(None, jobs))
                try:
                    t = seconds["ray", jobs] = campaign_seconds(cluster, scn, n, runs)
                finally:
                    cluster.close()
                print(f"   ray               {jobs} worker{'s' if jobs > 1 else ' '}: "
                      f"{n / t:6.2f}/s  {base / t:.2f}  (overhead against multiprocessing: "
                      f"{t / seconds['mp', jobs]:.2f}x; cluster start {cluster.start_seconds:.1f}s"
                      " not counted)")

        print("\n2. coverage (one exploration, in-process; time ratio to no coverage)")
        off = campaign_seconds(InProcess(), scn, 1, runs * 4, cov=False)
        sampled = campaign_seconds(InProcess(), scn, 1, runs * 4)
        first, every = coverage.PROFILE_FIRST, coverage.PROFILE_EVERY
        coverage.PROFILE_FIRST, coverage.PROFILE_EVERY = 1 << 30, 1
        try:
            full = campaign_seconds(InProcess(), scn, 1, runs * 4)
        finally:
            coverage.PROFILE_FIRST, coverage.PROFILE_EVERY = first, every
        print("   no coverage                     1.00")
        print(f"   sampled (first {first}, then 1 in {every}) {sampled / off:5.2f}")
        print(f"   every run profiled              {full / off:5.2f}")


if __name__ == "__main__":
    main()
