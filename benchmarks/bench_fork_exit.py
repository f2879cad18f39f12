"""fork + exit of a process with N written anonymous VMAs: the model next to
the live kernel doing the same (benchmarks/fork_exit.c, built with the system
compiler), as a ratio per N, and the time per VMA as N grows, also as a
ratio to the first N.  Both sides report their fastest round, which is the
least disturbed by the machine; the two sides take turns (``--repeat``
times per N), so that a busy spell of the machine slows both rather than
one.

A fork + exit has a cost per process (the task, the mm, the page-table
root; the kernel's exec'd test program's own mappings) besides its cost per
VMA, so the total divided by N falls with N on both sides.  The cost of a
VMA is read on the VMAs beyond the first: (t(N) - t(1)) / (N - 1), with
N = 1 measured in the same run as the base.  That is what must stay flat
(the model's fork and exit are linear in the VMAs), each side's as a ratio
to its own at the first N.

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


def measure(binary: str | None, n: int, rounds: int, repeat: int) -> tuple[float, float | None]:
    """The model's and the kernel's fastest fork + exit with ``n`` VMAs, in ns
    (the kernel's None without a compiler)."""
    model, parent = model_parent(n)
    m, k = float("inf"), None
    for _ in range(repeat):
        m = min(m, model_ns(model, parent, rounds))
        live = kernel_ns(binary, n, max(rounds, 20)) if binary else None
        if live is not None:
            k = live if k is None else min(k, live)
    del model, parent
    gc.unfreeze()
    return m, k


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    binary = build()
    if binary is None:
        print("bench_fork_exit: no C compiler: showing the model alone")
    sizes = [int(s) for s in args.sizes.split(",") if int(s) > 1]
    first = f"/ N={sizes[0]}"
    print(f"{'N VMAs':>8} {'model ms':>10} {'kernel ms':>10} {'ratio':>7} {'model us/VMA':>13} "
          f"{first:>10} {'model us/+VMA':>14} {first:>10} {'kernel us/+VMA':>15} {first:>10} "
          f"{'ratio':>7}")
    # The base is cheap and its noise weighs on every N's difference (on
    # the kernel's side t(10) - t(1) is about 10 us): ten times the rounds,
    # four times the turns.
    m1, k1 = measure(binary, 1, 10 * args.rounds, 4 * args.repeat)
    print(f"{1:>8} {m1 / 1e6:10.3f} {f'{k1 / 1e6:10.3f}' if k1 else '         -'} "
          f"{f'{m1 / k1:7.1f}' if k1 else '      -'}   (the base of the us/+VMA columns)")
    first_vma = first_extra = first_kextra = None
    for n in sizes:
        m, k = measure(binary, n, args.rounds, args.repeat)
        ratio = f"{m / k:7.1f}" if k else "      -"
        kms = f"{k / 1e6:10.3f}" if k else "         -"
        per_vma = m / n
        first_vma = first_vma or per_vma
        # the cost of each VMA beyond the first, on both sides
        extra = (m - m1) / (n - 1)
        first_extra = first_extra or extra
        line = (f"{n:>8} {m / 1e6:10.3f} {kms} {ratio} {per_vma / 1e3:13.2f} "
                f"{per_vma / first_vma:10.2f} {extra / 1e3:14.2f} {extra / first_extra:10.2f}")
        if k and k1:
            kextra = (k - k1) / (n - 1)
            first_kextra = first_kextra or kextra
            line += f" {kextra / 1e3:15.2f} {kextra / first_kextra:10.2f} {extra / kextra:7.1f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
