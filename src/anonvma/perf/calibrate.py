"""``anonvma perf calibrate``: the single-CPU costs, measured on this
machine's live kernel with calibrate.c and fitted so that the kernel
model, run on one simulated CPU, takes the time the kernel took.

- fork + exit per VMA (the slope between 1 and 64 written VMAs): scales
  every cost a VMA's fork and exit is made of (slab, lock fast path, the
  critical section, page refcounts);
- fork + exit of a process with one VMA (the intercept): copy_process,
  do_exit and exit_mmap;
- a write fault on a fresh page: the fault path beside the page allocation;
- a one-way pipe wakeup on one CPU: a context switch and a try_to_wake_up;
- munmap + mmap(MAP_FIXED) of one page: the mmap-merge iteration's
  system-call overhead beyond what the model charges.

The remote wakeup latency, C-states and cache-line transfers are the
multi-socket machine's, from published figures; calibration leaves them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from . import run_workload
from .costs import load_costs
from .report import _atomic_write

VARIANT = "v6.18"           # the model's main line: the live kernel's era
PER_VMA = (("single_cpu", "kmem_cache_alloc_ns"), ("single_cpu", "kmem_cache_free_ns"),
           ("single_cpu", "page_free_ns"), ("lock", "fast_ns"), ("lock", "critical_ns"))
BASE = (("single_cpu", "fork_ns"), ("single_cpu", "exit_ns"), ("single_cpu", "exit_mmap_ns"))


class CalibrationError(Exception):
    pass


def measure(binary: str, mode: str, n: int, rounds: int) -> float:
    try:
        out = subprocess.run([binary, mode, str(n), str(rounds)], check=True,
                             capture_output=True, text=True, timeout=300).stdout
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        raise CalibrationError(f"calibrate.c {mode} failed: {e}") from None
    return float(out)


def build(tmp: str) -> str:
    from ..oracle.build import find_compiler
    src = Path(__file__).with_name("calibrate.c")
    binary = os.path.join(tmp, "calibrate")
    subprocess.run([find_compiler(), "-O2", "-o", binary, str(src)], check=True)
    return binary


def model_fork_exit(costs: dict, vmas: int) -> float:
    """The model's fork + exit + wait of a process with ``vmas`` VMAs, ns."""
    c = json.loads(json.dumps(costs))
    c["jitter"] = 0
    c["sched"]["cstates"] = []
    c["workloads"]["fork_test"].update(forks=4, vmas=vmas, child_ns=0, tasks_per_cpu=1)
    r = run_workload("fork_test", VARIANT, 1, c)
    return r.makespan_ns / 4


def model_remap(costs: dict, other: bool = True) -> float:
    """The model's munmap + mmap(MAP_FIXED) pair, ns (without the
    workload's own system-call overhead if not ``other``)."""
    c = json.loads(json.dumps(costs))
    c["jitter"] = 0
    c["workloads"]["mmap-merge"]["iterations"] = 50
    if not other:
        c["workloads"]["mmap-merge"]["other_ns"] = 0
    r = run_workload("mmap-merge", VARIANT, 1, c)
    return r.makespan_ns / 50


def fit(live: dict, costs: dict) -> dict:
    costs["sched"]["context_switch_ns"] = round(live["pingpong"] / 2, 1)
    costs["lock"]["wake_ns"] = round(live["pingpong"] / 2, 1)
    slope_live = (live["fork64"] - live["fork1"]) / 63
    slope_model = (model_fork_exit(costs, 64) - model_fork_exit(costs, 1)) / 63
    scale = slope_live / slope_model
    for section, key in PER_VMA:
        costs[section][key] = round(costs[section][key] * scale, 1)
    rest = model_fork_exit(costs, 1) - sum(costs[s][k] for s, k in BASE)
    base_scale = max(live["fork1"] - rest, 0.0) / sum(costs[s][k] for s, k in BASE)
    for section, key in BASE:
        costs[section][key] = round(costs[section][key] * base_scale, 1)
    sc = costs["single_cpu"]
    sc["page_fault_ns"] = round(max(live["fault"] - sc["page_alloc_ns"], 0.0), 1)
    costs["workloads"]["mmap-merge"]["other_ns"] = round(
        max(live["remap"] - model_remap(costs, other=False), 0.0), 1)
    return costs


def calibrate(write: str | None) -> int:
    costs = load_costs()
    with tempfile.TemporaryDirectory(prefix="anonvma-calibrate-") as tmp:
        binary = build(tmp)
        live = {"fork1": measure(binary, "fork", 1, 30),
                "fork64": measure(binary, "fork", 64, 30),
                "fault": measure(binary, "fault", 256, 20),
                "remap": measure(binary, "remap", 1000, 10),
                "pingpong": measure(binary, "pingpong", 2000, 5)}
    print("live kernel " + os.uname().release + ": " +
          ", ".join(f"{k} {v:.0f} ns" for k, v in live.items()), file=sys.stderr)
    costs = fit(live, costs)
    check = {"fork1": model_fork_exit(costs, 1), "fork64": model_fork_exit(costs, 64),
             "remap": model_remap(costs)}
    print("model after fitting: " + ", ".join(
        f"{k} {v:.0f} ns ({v / live[k]:.2f}x)" for k, v in check.items()), file=sys.stderr)
    text = json.dumps(costs, indent=2) + "\n"
    if write:
        def put(tmp):
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
        _atomic_write(write, put)
        print(f"wrote {write}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
