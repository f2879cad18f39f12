"""Memory pressure: the zone's watermarks, direct reclaim through rmap, swap
out and in, kswapd's wakeup, and the OOM killer.  Expected values follow
mm/page_alloc.c, mm/vmscan.c and mm/memory.c of 6.18."""

from __future__ import annotations

import random

import pytest

from anonvma.checks.invariants import check_all_freed, check_invariants
from anonvma.kernel.include.gfp import GFP_KERNEL, GFP_NOWAIT
from anonvma.session import Config, Session
from anonvma.variants import VARIANTS
from anonvma.scenario import parse


def test_watermarks_follow_the_kernel_formula(make_machine):
    z = make_machine(memory=640).kernel.zone
    assert (z.wmark_min, z.wmark_low, z.wmark_high) == (20, 25, 30)


def test_pageout_swaps_an_exclusive_page_and_swap_in_restores_its_anon_vma(make_machine):
    m = make_machine(swap=8)
    m.do("P0 mmap 0 4\nP0 write 0\nP0 madvise 0 1 pageout")
    pte = m.task("P0").mm.pgd[(0x200000000000 >> 12)]
    assert not pte.present and pte.exclusive
    assert m.kernel.swap_info.swap_map[pte.offset] == 1
    m.do("P0 read 0")
    folio = m.folio("P0", 0)
    # exclusive: back into the VMA's own anon_vma, writable, slot freed
    assert folio.mapping is m.vma("P0", 0).anon_vma and folio.anon_exclusive
    assert m.kernel.swap_info.inuse == 0
    assert check_invariants(m.kernel) == []


def test_a_shared_swapped_page_comes_back_to_the_root_once(make_machine):
    """Swapped out exclusive, then shared by fork: each process faults it
    back; the first reads it into a folio of the root anon_vma, the second
    finds it in the swap cache."""
    m = make_machine(swap=8)
    m.do("P0 mmap 0 4\nP0 write 0\nP0 madvise 0 1 pageout\nP0 fork P1\nP1 read 0")
    folio = m.folio("P1", 0)
    root = m.vma("P0", 0).anon_vma.root
    assert folio.mapping is root and not folio.anon_exclusive
    m.do("P0 read 0")
    assert m.folio("P0", 0) is folio and folio._mapcount == 1
    assert m.kernel.swap_info.inuse == 0
    assert check_invariants(m.kernel) == []
    m.do("P0 write 0")          # COW: the shared page is copied for P0
    assert m.folio("P0", 0) is not folio
    assert check_invariants(m.kernel) == []


SWAPPED_SHARED = "P0 mmap 0 4\nP0 write 0\nP0 madvise 0 1 pageout\nP0 fork P1\nP1 read 0"


@pytest.mark.parametrize("variant", ["v3.0", "v4.0", "v6.18"])
def test_a_write_to_a_swap_cache_page_others_still_swap_copies_it(make_machine, variant):
    """P1 swaps in a page P0 still has a swap PTE for: the folio stays in
    the swap cache for P0.  P1's write must copy it (3.0 reuse_swap_page()
    adds the slot's swap count; 6.18 wp_can_reuse_anon_folio() keeps a
    folio the swap cache cannot let go of): reusing it would move the
    folio to P1's anon_vma, out of the reach of P0's chain, and P0's
    swap-in after P1's exit would find it under a freed anon_vma."""
    m = make_machine(variant=VARIANTS[variant], swap=8)
    m.do(SWAPPED_SHARED)
    cached = m.folio("P1", 0)
    root = m.vma("P0", 0).anon_vma.root
    assert cached.swap is not None and cached.mapping is root
    m.do("P1 write 0")
    assert m.folio("P1", 0) is not cached and cached.mapping is root
    m.do("P1 exit\nP0 read 0")
    assert m.folio("P0", 0) is cached
    assert check_invariants(m.kernel) == []
    m.do("P0 exit")
    assert check_all_freed(m.kernel) == []


@pytest.mark.parametrize("variant", ["v3.0", "v4.0", "v6.18"])
def test_the_last_user_of_a_swap_cache_page_reuses_it(make_machine, variant):
    """Once P0 (and with it the last other swap PTE) is gone, P1's write
    reuses the cached page: it leaves the swap cache and moves to P1's own
    anon_vma."""
    m = make_machine(variant=VARIANTS[variant], swap=8)
    m.do(SWAPPED_SHARED + "\nP0 exit")
    cached = m.folio("P1", 0)
    assert cached.swap is not None
    m.do("P1 write 0")
    assert m.folio("P1", 0) is cached
    assert cached.swap is None and m.kernel.swap_info.inuse == 0
    assert cached.mapping is m.vma("P1", 0).anon_vma
    assert check_invariants(m.kernel) == []


def test_pageout_without_swap_leaves_pages_where_they_are(machine):
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 madvise 0 4 pageout")
    assert machine.folio("P0", 0).mapping is machine.vma("P0", 0).anon_vma


def test_gfp_nowait_fails_below_min_and_never_reclaims(make_machine):
    m = make_machine(memory=64, swap=64)
    k = m.kernel
    reclaims = []
    k.trace.mm_vmscan_direct_reclaim_begin.register(lambda *a: reclaims.append(a))
    kswapd = []
    k.trace.mm_vmscan_wakeup_kswapd.register(lambda *a: kswapd.append(a))
    k.zone.nr_free = k.zone.wmark_min        # at the min watermark
    k.current = m.task("P0")
    assert k.alloc_pages(GFP_NOWAIT) is False
    assert reclaims == [] and kswapd           # it woke kswapd, nothing more
    assert m.reports == []                     # and GFP_NOWAIT carries __GFP_NOWARN
    assert k.alloc_pages(GFP_NOWAIT & ~0x2000) is False
    assert m.reports == ["P0: page allocation failure: order:0, mode:0x800(0x800)"]
    assert k.alloc_pages(GFP_KERNEL) is True or k.current.oom_victim


def test_direct_reclaim_swaps_out_cold_pages_under_pressure(make_machine):
    m = make_machine(memory=128, swap=256)
    m.do("P0 mmap 0 200\n" + "".join(f"P0 write {i}\n" for i in range(200)))
    k = m.kernel
    assert k.swap_info.inuse > 0
    assert k.zone.nr_free >= 0
    assert not m.task("P0").oom_victim
    assert check_invariants(k) == []
    m.do("".join(f"P0 read {i}\n" for i in range(0, 200, 7)))
    assert check_invariants(k) == []


def test_without_swap_the_oom_killer_kills_the_allocating_process(make_machine):
    m = make_machine(memory=96)
    m.do("P0 fork P1\nP1 mmap 0 200\n" + "".join(f"P1 write {i}\n" for i in range(200)))
    assert any(line.startswith("P1 !write SIGKILL") for line in m.sink.others)
    assert any("Out of memory: Killed process" in r for r in m.reports)
    assert m.runner.procs["P1"].dead and not m.runner.procs["P0"].dead
    m.do("P0 exit")
    assert check_all_freed(m.kernel) == []


def pressure_program(rng: random.Random) -> str:
    """Fill most of a small zone, then fork, COW, unmap, move and protect."""
    lines = ["set memory 128", f"set swap {rng.choice((0, 64, 256))}", "P0 mmap 0 160"]
    lines += [f"P0 write {i}" for i in range(0, 160, rng.choice((1, 2)))]
    procs = ["P0"]
    for i in range(40):
        p = rng.choice(procs)
        page = rng.randrange(160)
        op = rng.choice(("write", "read", "fork", "munmap", "mprotect", "mremap", "pageout", "exit"))
        if op == "fork" and len(procs) < 4:
            child = f"C{i}"
            lines.append(f"{p} fork {child}")
            procs.append(child)
        elif op in ("write", "read"):
            lines.append(f"{p} {op} {page}")
        elif op == "munmap":
            lines.append(f"{p} munmap {page} {rng.randrange(1, 8)}")
        elif op == "mprotect":
            lines.append(f"{p} mprotect {page} {rng.randrange(1, 8)} {rng.choice(('r', 'rw'))}")
        elif op == "mremap":
            lines.append(f"{p} mremap {page} 4 4 to {200 + rng.randrange(40)}")
        elif op == "pageout":
            lines.append(f"{p} madvise {page} 8 pageout")
        elif op == "exit" and p != "P0":
            lines.append(f"{p} exit")
            procs.remove(p)
    return "\n".join(lines) + "\n"


def test_every_op_keeps_working_under_pressure():
    rng = random.Random(618)
    for _ in range(25):
        text = pressure_program(rng)
        result = Session(parse(text, "<pressure>"), Config()).run()
        assert result.problems == [], text


def test_a_huge_swap_area_costs_only_the_slots_in_use(make_machine):
    """swap_map holds the slots in use; a freed slot is the lowest free one
    again (scan_swap_map_slots starts at the lowest free offset)."""
    m = make_machine(swap=2**32 - 1)
    si = m.kernel.swap_info
    assert si.max == 2**32 - 1 and si.swap_map == {}
    m.do("P0 mmap 0 4\nP0 write 0\nP0 write 1\nP0 write 2\nP0 madvise 0 3 pageout")
    assert sorted(si.swap_map) == [0, 1, 2] and si.inuse == 3
    m.do("P0 read 1")           # exclusive: swapped in, slot 1 freed
    assert sorted(si.swap_map) == [0, 2] and si.inuse == 2
    m.do("P0 write 3\nP0 madvise 3 1 pageout")
    assert m.task("P0").mm.pgd[(0x200000000000 >> 12) + 3].offset == 1
    assert check_invariants(m.kernel) == []
