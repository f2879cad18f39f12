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

The ratios are against a population of the first size that stays alive
and is timed in turns with each size.  Memory is the growth of the
process's resident set while the population was built, divided by the
live AVCs; it covers everything the population holds (VMAs, anon_vmas,
page tables, folios, slab bookkeeping), not the AVC objects alone.

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


def fork_exit_ns(kernel: Linux, parent) -> int:
    """One more child forked from the parent and torn down again."""
    kernel.current = parent
    start = time.perf_counter_ns()
    child = kernel.kernel_clone("child")
    kernel.current = child
    kernel.do_group_exit()
    return time.perf_counter_ns() - start


def cow_ns(kernel: Linux, parent, vmas: int) -> int:
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


def fastest(rounds: int, *measures) -> list[float]:
    """The fastest of ``rounds`` of each measure, the measures taking turns
    so that a busy spell of the machine slows all of them alike."""
    best = [float("inf")] * len(measures)
    for _ in range(rounds):
        for i, measure in enumerate(measures):
            best[i] = min(best[i], measure())
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000,1000000",
                    help="live AVCs to build, comma-separated (the first is the baseline)")
    ap.add_argument("--vmas", type=int, default=1000, help="VMAs of the parent")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)
    v = args.vmas
    sizes = [int(s) for s in args.sizes.split(",")]

    def children(size: int) -> int:
        return max(0, -(-(size // v - 1) // 2))

    # The baseline population stays alive; every size is timed in turns with it.
    base_kernel, base_parent, _base_kids = build(v, children(sizes[0]))
    print(f"{'live AVCs':>10} {'children':>8} {'bytes/AVC':>10} {'fork+exit us/VMA':>17} "
          f"{'ratio':>6} {'COW us/VMA':>11} {'ratio':>6}")
    for size in sizes:
        gc.collect()
        before = rss_bytes()
        kernel, parent, kids = build(v, children(size))
        avcs = live_avcs(kernel)
        per_avc = (rss_bytes() - before) / avcs
        # Both populations live as long as their measurements and are never
        # garbage (the slab freelists recycle what a fork + exit or a COW
        # fault frees); frozen, the cyclic collector's full collections walk
        # only what the rounds allocate, not 10^6 AVCs that the live kernel
        # never has to look at.
        gc.freeze()
        base_fe, fe, base_cow, cow = fastest(
            args.rounds,
            lambda: fork_exit_ns(base_kernel, base_parent),
            lambda: fork_exit_ns(kernel, parent),
            lambda: cow_ns(base_kernel, base_parent, v),
            lambda: cow_ns(kernel, parent, v))
        print(f"{avcs:>10} {len(kids):>8} {per_avc:>10.0f} {fe / v / 1e3:>17.2f} "
              f"{fe / base_fe:>6.2f} {cow / v / 1e3:>11.2f} {cow / base_cow:>6.2f}")
        del kernel, parent, kids
        gc.unfreeze()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
