"""A write fault on a page read back from swap, in the eras before the
modern fault path (3.0 mm/memory.c:do_wp_page and mm/swapfile.c:
reuse_swap_page): the page is the faulting process's alone only when its
mappings plus the swap PTEs still pointing at its slot come to one.

exim under memory pressure meets exactly this: the daemon's pages are in
swap, a delivery process writes one, and the connection process and the
daemon keep their swap PTEs to the same slot.  Reusing the page would
point it at the delivery's anon_vma; once the delivery has exited, the
next delivery's swap-in of the slot maps a page whose anon_vma is gone
(the VM_BUG_ON of __page_check_anon_rmap when the slab object has been
reused under another root)."""

from __future__ import annotations

import pytest

from anonvma.kernel.include.mm import PAGE_SHIFT
from anonvma.kernel.mm.mm_types import swp_pte_t
from anonvma.perf import load_costs, run_workload
from anonvma.scenario import Line, parse
from anonvma.session import Config, Session

OLD_ERAS = ("v2.6.39", "v3.0-rc1", "v3.0")
PAGE0 = 0x200000000000 >> PAGE_SHIFT    # the scenario's page 0
# a process forked before page 0 exists writes a region larger than memory,
# so that reclaim swaps page 0 out
HOG = "".join(f"H write {1000 + i}\n" for i in range(100))


def boot(variant: str, text: str):
    machine = Session(parse("set memory 64\nset swap 256\nP0 fork H\n" + text
                            + "H mmap 1000 100 rw\n" + HOG),
                      Config(variant=variant)).boot()
    machine.run_steps()
    return machine


def pte(machine, proc: str):
    return machine.runner.procs[proc].task.mm.pgd.get(PAGE0)


def run(machine, proc: str, op: str, *args) -> None:
    machine.runner.run_line(Line(0, proc, op, args))


def vma0(machine, proc: str):
    """The process's VMA of page 0."""
    return next(vma for vma in machine.runner.procs[proc].task.mm.mm_mt
                if vma.vm_start <= PAGE0 << PAGE_SHIFT < vma.vm_end)


@pytest.mark.parametrize("variant", OLD_ERAS)
def test_a_page_whose_slot_others_still_use_is_copied(variant):
    m = boot(variant, "P0 mmap 0 1 rw\nP0 write 0\nP0 fork C\n")
    entry = pte(m, "P0")
    assert isinstance(entry, swp_pte_t) and isinstance(pte(m, "C"), swp_pte_t)
    run(m, "C", "fork", "D")
    run(m, "D", "write", 0)
    cached = m.kernel.swap_cache_get_folio(entry)
    # page_mapcount 1 (D's, just read back) + page_swapcount 2 (P0's and
    # C's swap PTEs): not D's alone, so do_wp_page copies it and the cached
    # page stays on the root every process of the tree is linked to
    assert cached is not None and pte(m, "D").folio is not cached
    root = vma0(m, "P0").anon_vma.root
    assert cached.mapping.root is root and cached.mapping is not vma0(m, "D").anon_vma
    run(m, "D", "exit")
    run(m, "C", "fork", "E")
    run(m, "E", "write", 0)                 # the swap-in that tripped the VM_BUG_ON
    assert pte(m, "E").folio is not cached
    assert vma0(m, "E").anon_vma.root is root


@pytest.mark.parametrize("variant", OLD_ERAS)
def test_the_last_user_of_a_slot_reuses_the_page(variant):
    m = boot(variant, "P0 mmap 0 1 rw\nP0 write 0\n")
    entry = pte(m, "P0")
    assert isinstance(entry, swp_pte_t)
    cached = m.kernel.swap_cache_get_folio(entry)
    run(m, "P0", "write", 0)
    # nobody else maps the page or holds its slot: written in place, and out
    # of the swap cache (its slot's copy is stale now)
    if cached is not None:
        assert pte(m, "P0").folio is cached
    assert pte(m, "P0").folio.swap is None
    assert entry.offset not in m.kernel.swap_info.swap_map


@pytest.mark.parametrize("variant", ("v2.6.39", "v3.0-rc2"))
def test_exim_deliveries_write_swapped_pages(variant):
    costs = load_costs()
    costs["workloads"]["exim"].update(messages=2, vmas=4)
    r = run_workload("exim", variant, 4, costs, pressure=True)
    assert r.reclaims > 0
