"""fork + exit of a process with N written anonymous VMAs: the model next to
the live kernel doing the same (benchmarks/fork_exit.c, built with the system
compiler), as a ratio per N, and the model's time per VMA as N grows, also as
a ratio to the first N (it must stay flat: the model's fork and exit are
linear in the VMAs).  Both sides
report their fastest round, which is the least disturbed by the machine; the
two sides take turns (``--repeat`` times per N), so that a busy spell of the
machine slows both rather than one.

    python -m benchmarks.bench_fork_exit [--sizes 10,100,1000,10000] [--rounds R] [--repeat K]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from anonvma.scenario import MAX_OPS, parse
from anonvma.session import Config, Session

HERE = Path(__file__).resolve().parent


def model_parent(n: int):
    """A model kernel and its process with ``n`` written one-page VMAs.  A
    scenario holds at most MAX_OPS operations, so a large parent is built by
    several, their lines run one after the other on the one machine."""
    lines = [f"P0 mmap {2 * i} 1\nP0 write {2 * i}\n" for i in range(n)]
    per_file = MAX_OPS // 2 - 1         # two operations a VMA, and P0's exit
    chunks = [parse("".join(lines[i:i + per_file])) for i in range(0, n, per_file)]
    machine = Session(chunks[0], Config(lockdep=False, checks=False, trace=False)).boot()
    machine.run_steps()
    for chunk in chunks[1:]:
        for step in chunk.steps:
            machine.run_step(step)
    # The booted kernel and the parent live as long as the measurement and
    # are never garbage: a fork + exit takes its kernel objects from the slab
    # freelists and gives them back.  Left to the cyclic collector, every
    # full collection the rounds trigger would walk the whole parent, a cost
    # that grows with N and that the live kernel has no counterpart of;
    # frozen, a collection walks only what the rounds themselves allocate.
    # The caller gives them back with gc.unfreeze() when done with them.
    gc.collect()
    gc.freeze()
    return machine.kernel, machine.runner.procs["P0"].task


def model_ns(kernel, parent, rounds: int) -> float:
    """The fastest of ``rounds`` fork + child exit in the model, in ns."""
    best = float("inf")
    for _ in range(rounds):
        kernel.current = parent
        start = time.perf_counter_ns()
        child = kernel.kernel_clone("child")
        kernel.current = child
        kernel.do_group_exit()
        best = min(best, time.perf_counter_ns() - start)
    return best


def kernel_ns(binary: str, n: int, rounds: int) -> float | None:
    out = subprocess.run([binary, str(n), str(rounds)], capture_output=True, text=True)
    if out.returncode:
        return None
    return float(out.stdout)


def build() -> str | None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None
    binary = os.path.join(tempfile.mkdtemp(prefix="anonvma-bench-"), "fork_exit")
    subprocess.run([cc, "-O2", "-o", binary, str(HERE / "fork_exit.c")], check=True)
    return binary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    binary = build()
    if binary is None:
        print("bench_fork_exit: no C compiler: showing the model alone")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'N VMAs':>8} {'model ms':>10} {'kernel ms':>10} {'ratio':>7} {'model us/VMA':>13} "
          f"{f'/ N={sizes[0]}':>10}")
    first = None
    for n in sizes:
        model, parent = model_parent(n)
        m, k = float("inf"), None
        for _ in range(args.repeat):
            m = min(m, model_ns(model, parent, args.rounds))
            live = kernel_ns(binary, n, max(args.rounds, 20)) if binary else None
            if live is not None:
                k = live if k is None else min(k, live)
        ratio = f"{m / k:7.1f}" if k else "      -"
        kms = f"{k / 1e6:10.3f}" if k else "         -"
        per_vma = m / n
        first = first or per_vma
        print(f"{n:>8} {m / 1e6:10.3f} {kms} {ratio} {per_vma / 1e3:13.2f} {per_vma / first:10.2f}")
        del model, parent
        gc.unfreeze()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
