"""The model with up to 10^6 live anon_vma_chains: memory per live AVC and
the cost of one rmap operation as the reverse map grows, each as a ratio
against the smallest size of the same run.

A parent with V written one-page VMAs forks K children that stay alive.
Every VMA of a child holds two AVCs (one on the parent's anon_vma, one on
its own), so the fork tree holds V * (1 + 2K) live AVCs.  At each size the
benchmark measures, per VMA:

- fork + exit: one more child forked from the parent and torn down again
  (the anon_vma_clone / unlink_anon_vmas paths, against root anon_vmas that
  already have K + 1 AVCs in their interval trees);
- COW fault: a write to every shared page in a fresh child (do_wp_page,
  wp_page_copy).

Memory is the growth of the process's resident set while the population
was built, divided by the live AVCs; it covers everything the population
holds (VMAs, anon_vmas, page tables, folios, slab bookkeeping), not the AVC
objects alone.

    python -m benchmarks.bench_scale [--sizes 1000,10000,100000,1000000] [--vmas V]
"""

from __future__ import annotations

import argparse
import gc
import os
import time

from anonvma.kernel import Linux
from anonvma.kernel.include.mm import (
    MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE,
)

BASE = 0x200000000000


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def live_avcs(kernel: Linux) -> int:
    return len(kernel.anon_vma_chain_cachep.live)


def build(vmas: int, children: int):
    """The parent with ``vmas`` written VMAs and ``children`` live children."""
    kernel = Linux()
    parent = kernel.spawn_init("parent")
    for i in range(vmas):
        addr = BASE + 2 * i * PAGE_SIZE
        assert kernel.sys_mmap(addr, PAGE_SIZE, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) == addr
        assert kernel.handle_user_access(addr, True) == 0
    kids = []
    for _ in range(children):
        kernel.current = parent
        kids.append(kernel.kernel_clone("child"))
    kernel.current = parent
    return kernel, parent, kids


def fork_exit_ns(kernel: Linux, parent, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        kernel.current = parent
        start = time.perf_counter_ns()
        child = kernel.kernel_clone("child")
        kernel.current = child
        kernel.do_group_exit()
        best = min(best, time.perf_counter_ns() - start)
    return best


def cow_ns(kernel: Linux, parent, vmas: int) -> float:
    """Write every page once in a fresh child: one COW copy per VMA."""
    kernel.current = parent
    child = kernel.kernel_clone("child")
    kernel.current = child
    start = time.perf_counter_ns()
    for i in range(vmas):
        kernel.handle_user_access(BASE + 2 * i * PAGE_SIZE, True)
    elapsed = time.perf_counter_ns() - start
    kernel.do_group_exit()
    return elapsed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000,1000000",
                    help="live AVCs to build, comma-separated (the first is the baseline)")
    ap.add_argument("--vmas", type=int, default=1000, help="VMAs of the parent")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)
    v = args.vmas
    print(f"{'live AVCs':>10} {'children':>8} {'bytes/AVC':>10} {'fork+exit us/VMA':>17} "
          f"{'ratio':>6} {'COW us/VMA':>11} {'ratio':>6}")
    base = None
    for size in (int(s) for s in args.sizes.split(",")):
        children = max(0, -(-(size // v - 1) // 2))
        gc.collect()
        before = rss_bytes()
        kernel, parent, kids = build(v, children)
        avcs = live_avcs(kernel)
        per_avc = (rss_bytes() - before) / avcs
        fe = fork_exit_ns(kernel, parent, args.rounds) / v / 1e3
        cow = min(cow_ns(kernel, parent, v) for _ in range(args.rounds)) / v / 1e3
        if base is None:
            base = fe, cow
        print(f"{avcs:>10} {children:>8} {per_avc:>10.0f} {fe:>17.2f} {fe / base[0]:>6.2f} "
              f"{cow:>11.2f} {cow / base[1]:>6.2f}")
        del kernel, parent, kids
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
