"""The zoo's shrunk reproducers, as ``anonvma zoo run`` wrote them (fixed
seeds): each fails on its buggy era with the report the zoo found, and runs
clean on the fixed era.  The expected reports are the kernel's own
messages for these bugs (history notes §2): the RECLAIM_FS inversion of
Hugh Dickins's splat for B1, the degree count that BUG_ON(anon_vma->degree)
tripped over for B8."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonvma.explore import replay
from anonvma.explore.runner import execute, explore_program
from anonvma.explore.strategies import Random, Replay
from anonvma.scenario import parse_file
from anonvma.session import Config, Session
from anonvma.zoo import BY_ID
from anonvma.zoo.cold import Watched, replay_found

HERE = Path(__file__).parent / "reproducers"


def _session(bug_id: str, era: str) -> Watched:
    return Watched(Session(parse_file(str(HERE / f"{bug_id}.scn")), Config(variant=era)))


def test_b1_replays_the_reclaim_inversion_on_3_0_rc2():
    ex = replay(HERE / "B1.scn", HERE / "B1.schedule.json")
    assert ex.failure is not None and ex.failure.kind == "lockdep"
    ex = replay_found(str(HERE / "B1.scn"), str(HERE / "B1.schedule.json"), None)
    assert ex.failure is not None and ex.failure.kind == "lockdep"
    assert "inconsistent {RECLAIM_FS-ON-W} -> {IN-RECLAIM_FS-W} usage." in ex.failure.text
    assert "anon_vma_clone" in ex.failure.text


def test_b1_fixed_era_survives_the_schedule_and_others():
    program = _session("B1", BY_ID["B1"].fixed)
    from anonvma.explore.schedule import load_schedule
    decisions, _info = load_schedule(HERE / "B1.schedule.json")
    assert execute(program, Replay(decisions)).failure is None
    assert explore_program(program, Random(seed=1), budget_runs=20).failure is None


def test_b8_degree_counted_on_the_wrong_anon_vma_on_3_19_rc4():
    result = Session(parse_file(str(HERE / "B8.scn"))).run()
    assert result.variant == "v3.19-rc4"
    assert any(p.startswith("after line") and "I-12:" in p for p in result.problems)
    assert "WARNING: unlink_anon_vmas: degree" in result.problems


def test_b6_chain_grows_past_the_bound_on_3_18():
    ex = replay_found(str(HERE / "B6.scn"), None, None)
    assert ex.failure is not None and ex.failure.kind == "growth"
    assert "G-1: a chain of 9 anon_vmas for 2 live mms, at most 2 at once" in ex.failure.text


@pytest.mark.parametrize("era", ["v3.18", "v4.0", "v6.0", "v6.18", "v6.18.7", "v7.0-rc", "v7.0"])
def test_fork_tree_whose_ancestors_exit_is_within_the_growth_bound(era):
    """The cold search's G-1 on eras without B6: nine generations of a
    fork tree, each fork made while its parent's chain was held by live
    processes, leave P21 a chain of 9 anon_vmas with two mms live; at the
    forks that built it up to 9 mms were live at once."""
    ex = replay_found(str(HERE / "growth_fork_tree.scn"), None, era)
    assert ex.failure is None and ex.reports == []


@pytest.mark.parametrize("bug_id", ["B6", "B8"])
def test_plain_reproducers_run_clean_on_the_fixed_era(bug_id):
    ex = replay_found(str(HERE / f"{bug_id}.scn"), None, BY_ID[bug_id].fixed)
    assert ex.failure is None and ex.reports == [] or \
        all(kind == "fault_injection" for kind, _ in ex.reports)


def test_fork_beside_reclaim_leaves_no_swap_pte_without_a_slot():
    """A model bug the zoo found: a swap-in beside reclaim freed the slot of
    a folio reclaim had locked between folio_alloc_swap() and
    try_to_unmap(), which then wrote swap PTEs without a slot.  The kernel's
    folio_free_swap() runs under the folio lock."""
    ex = replay_found(str(HERE / "swap_pte_without_slot.scn"),
                      str(HERE / "swap_pte_without_slot.schedule.json"), None)
    assert ex.failure is None, ex.failure.text


def test_two_swap_ins_of_one_slot_share_one_swap_cache_folio():
    """A model bug the zoo found on a fixed era: two faults on one swap
    slot, the second's folio allocation sleeping, each added a folio to the
    swap cache; freeing the second then found none.  do_swap_page() now
    looks again after allocating, as swapcache_prepare() makes the kernel."""
    ex = replay_found(str(HERE / "swap_in_race.scn"), str(HERE / "swap_in_race.schedule.json"),
                      None)
    assert ex.failure is None, ex.failure.text


def test_exit_beside_reclaim_frees_every_folio_once():
    """A model bug the zoo found on every era: reclaim held no reference on
    the folio it worked on, so a process exiting beside it freed the folio
    under it (zap_pte_range()'s last folio_put()), and reclaim then gave the
    freed folio a swap slot and freed it again: nr_folios -1.  The kernel's
    isolate_lru_folios() and folio_isolate_lru() take a reference that
    shrink_folio_list() drops at the end."""
    ex = replay_found(str(HERE / "exit_beside_reclaim_leak.scn"),
                      str(HERE / "exit_beside_reclaim_leak.schedule.json"), None)
    assert ex.failure is None, ex.failure.text
    program = _session("exit_beside_reclaim_leak", "v6.18")
    result = explore_program(program, Random(seed=0), budget_runs=20)
    assert result.failure is None, result.failure.text


# Hand-written from each fix's commit text (history notes §2): the report
# the buggy era must give, and none on the fixed era.
@pytest.mark.parametrize("bug_id, kind, text", [
    ("B9", "invariant", "I-12: anon_vma #2 degree=1"),
    ("3a206a8649f8", "invariant", "anon_vma is set but its chain has 0 AVCs"),
    ("B17", "invariant", "I-8: folio pfn 0x2 is mapped but its anon_vma is freed"),
])
def test_plain_reproducer_reports_on_the_buggy_era_only(bug_id, kind, text):
    bug = BY_ID[bug_id]
    ex = replay_found(str(HERE / f"{bug_id}.scn"), None, bug.buggy)
    assert ex.failure is not None and ex.failure.kind == kind and text in ex.failure.text
    ex = replay_found(str(HERE / f"{bug_id}.scn"), None, bug.fixed)
    assert ex.failure is None, ex.failure.text


def test_b5_root_freed_before_the_child_on_3_15_only():
    """The parent unmaps the root's last VMA between the two passes of the
    child's exit-time unlink_anon_vmas(): the child's put then drops the
    root's last reference, and 3.15 frees the root before the child, whose
    anon_vma_free() reads child->root (KASAN)."""
    bug = BY_ID["B5"]
    result = explore_program(_session("B5", bug.buggy), Random(seed=0), budget_runs=20)
    assert result.failure is not None and result.failure.kind == "kasan"
    assert "BUG: KASAN: slab-use-after-free in anon_vma_free" in result.failure.text
    result = explore_program(_session("B5", bug.fixed), Random(seed=0), budget_runs=20)
    assert result.failure is None, result.failure.text


def _b4_splat(name: str) -> str:
    """The report of B4's reproducer ``name`` replayed with its schedule on
    2.6.36-rc1: lockdep's report of an unlock of a lock the reclaimer does
    not hold, in page_unlock_anon_vma(), while it still holds the root it
    locked in page_lock_anon_vma()."""
    ex = replay_found(str(HERE / f"{name}.scn"), str(HERE / f"{name}.schedule.json"), None)
    assert ex.failure is not None and ex.failure.kind == "lockdep"
    text = ex.failure.text
    assert "[ BUG: bad unlock balance detected! ]" in text
    # the splat names the kernel it came from, as 2.6.36's print_kernel_version() did
    assert "\n2.6.36-rc1 (anonvma model)\n" in text
    assert "is trying to release lock (&anon_vma->lock) at:" in text
    assert "but there are no more locks to release!" in text
    assert "at: page_lock_anon_vma" in text
    assert "page_unlock_anon_vma" in text.split("stack backtrace:")[1]
    return text


def _b4_survives(name: str, era: str, strategies, budget_runs: int) -> None:
    """``era`` rechecks the page under the root it read: the reproducer's
    schedule, and the strategies' own, report nothing."""
    from anonvma.explore.schedule import load_schedule
    decisions, _info = load_schedule(HERE / f"{name}.schedule.json")
    program = _session(name, era)
    assert execute(program, Replay(decisions)).failure is None, era
    for strategy in strategies:
        assert explore_program(program, strategy, budget_runs=budget_runs).failure is None, era


def test_b4_unlocks_the_root_of_the_reused_anon_vma_on_2_6_36_rc1():
    """Hugh Dickins's "locked root1, unlocked root2"."""
    assert "#0: (&anon_vma->lock){" in _b4_splat("B4")


def test_b4_fixed_era_survives_the_schedule_and_others():
    """2.6.36 (f18194275c39) and 6.18 recheck the page under the root they
    read."""
    from anonvma.explore.strategies import Pct
    for era in (BY_ID["B4"].fixed, "v6.18"):
        _b4_survives("B4", era, (Pct(seed=1, depth=2), Random(seed=1)), 40)


def test_b4_contend_opens_the_window_from_the_scenario_alone():
    """kswapd must go past the lookups of page 0 (two yields at
    preempt_schedule_irq()) and stop at that of P1's page until P1 has
    exited and P2's fork has taken the freed slot.  PCT lowers a yielding
    task at every yield, so kswapd always stops at its first one, before it
    has read P1's anon_vma; contend delays it at one yield in four and
    otherwise lets it go on, and finds the unlock of the new root in a few
    dozen runs (about one run in twenty: docs/concurrency.md)."""
    from anonvma.explore.strategies import Contend, Pct
    bug = BY_ID["B4"]
    assert explore_program(_session("B4", bug.buggy), Pct(seed=0, depth=2),
                           budget_runs=60).failure is None
    r = explore_program(_session("B4", bug.buggy), Contend(seed=0), budget_runs=60)
    assert r.failure is not None and r.failure.kind == "lockdep"
    assert "[ BUG: bad unlock balance detected! ]" in r.failure.text
    ex = execute(_session("B4", bug.buggy), Replay(r.schedule, strict=True))
    assert ex.failure.text == r.failure.text
    assert explore_program(_session("B4", bug.fixed), Contend(seed=0),
                           budget_runs=60).failure is None


def test_b4_cold_reproducer_unlocks_the_new_root_from_direct_reclaim():
    """The zoo's B4 from cold (a pressure program at the edge): the reader
    is not kswapd but P0's write fault in direct reclaim, preempted in
    page_lock_anon_vma() after reading the root of P2's anon_vma; P2, a
    leaf with pages of its own, exits and frees it, and P1's fork takes
    the slot.  2.6.36 locks the root it read and rechecks the page: the
    same schedule, and others, report nothing."""
    from anonvma.explore.strategies import Contend
    text = _b4_splat("B4-cold")
    assert "P0/1 is trying to release lock (&anon_vma->lock)" in text
    assert "mmap_read_lock" in text
    _b4_survives("B4-cold", BY_ID["B4"].fixed, (Contend(seed=0, depth=2), Random(seed=0)), 30)


class _Kept:
    """A program whose booted machine stays around for the test to read."""

    def __init__(self, program):
        self.program = program
        self.machine = None

    def boot(self):
        self.machine = self.program.boot()
        return self.machine


def test_exit_beside_preempted_reclaim_leaves_a_swap_cache_folio_for_reclaim():
    """Under preempt=full a process exits beside reclaim preempted in
    folio_lock_anon_vma_read(): its zap cannot trylock the folio reclaim
    holds (free_swap_cache()), reclaim then keeps the folio (the anon_vma
    lock was contended), and the folio stays in the swap cache with nothing
    mapping it, as the kernel leaves it for the next reclaim.  That is no
    leak; a reference more on the same folio is."""
    from anonvma.checks.common import check_all_freed, swap_cache_orphans
    from anonvma.explore.schedule import load_schedule
    from anonvma.zoo.cold import watched
    decisions = load_schedule(HERE / "preempt_leak.schedule.json")[0]
    path = HERE / "preempt_leak.scn"
    program = _Kept(watched(path.read_text(), None, path=str(path)))
    ex = execute(program, Replay(decisions))
    assert ex.failure is None, ex.failure.text
    kernel = program.machine.kernel
    orphans = swap_cache_orphans(kernel)
    assert len(orphans) == kernel.nr_folios == 1
    assert check_all_freed(kernel) == []
    kernel.folio_get(orphans[0])
    assert swap_cache_orphans(kernel) == []
    assert check_all_freed(kernel) == ["leak: 1 folios still allocated after every process exited"]


def test_b17_cold_reproducer_frees_the_moved_folios_anon_vma_on_6_18_7():
    """The zoo's shrunk B17 reproducer (seed 1, with the plain programs at
    twice the others' share of the time; seed 0 of the equal shares finds
    the fork-child form of the same merge, I-6): a faulted VMA moved away
    and back with MREMAP_DONTUNMAP to where an unfaulted neighbour's page
    offsets continue its own merges with that neighbour; 6.18.7's
    vma_expand() gives the survivor no anon_vma, and dontunmap_complete()'s
    unlink_anon_vmas() of the source frees the one the moved folios point
    at, which the exit's zap then reads (the syzbot reports' UAF).  6.18's
    copied_from dup keeps it alive."""
    bug = BY_ID["B17"]
    ex = replay_found(str(HERE / "B17-cold.scn"), None, bug.buggy)
    assert ex.failure is not None and ex.failure.kind == "invariant"
    assert "is mapped but its anon_vma is freed" in ex.failure.text
    kasan = next(text for kind, text in ex.reports if kind == "kasan")
    assert "BUG: KASAN: slab-use-after-free in" in kasan
    freed = kasan.split("Freed by task")[1]
    assert "unlink_anon_vmas" in freed and "dontunmap_complete" in freed
    assert "which belongs to the cache anon_vma" in kasan
    ex = replay_found(str(HERE / "B17-cold.scn"), None, bug.fixed)
    assert ex.failure is None and ex.reports == [], ex.reports


def test_b10_double_reuse_gives_one_anon_vma_two_chains_on_5_19():
    """CVE-2022-42703 (2555283eb40d): ``degree`` mixes child anon_vmas and
    VMAs, so a fork reuses a leaf anon_vma that a VMA still uses, and two
    VMAs then share an anon_vma with different chains, the assumption
    is_mergeable_anon_vma() rests on ("if two VMAs have the same
    ->anon_vma, the list of anon_vmas attached to the VMAs is guaranteed
    to be the same").  The shrunk program of a narrow swarm: splits by
    mprotect, forks whose parents exit (one by SIGSEGV), and two forks
    from one process.  6.0's num_children/num_active_vmas reuse only an
    anon_vma no VMA uses."""
    bug = BY_ID["B10"]
    ex = replay_found(str(HERE / "B10.scn"), None, bug.buggy)
    assert ex.failure is not None and ex.failure.kind == "invariant"
    assert "I-9: VMAs sharing one anon_vma have different chains" in ex.failure.text
    assert "(P5 fork P8)" in ex.failure.text
    ex = replay_found(str(HERE / "B10.scn"), None, bug.fixed)
    assert ex.failure is None and ex.reports == [], ex.reports


# the cold search's B10 reproducers and the fork their I-9 follows
B10_COLD = [("B10-cold.scn", "(P9 fork P10)"), ("B10-v5.19-cold.scn", "(P25 fork P32)")]


@pytest.mark.parametrize("era", ["v3.19", "v4.0", "v5.19"])
@pytest.mark.parametrize("name,fork", B10_COLD)
def test_b10_cold_reproducer_double_reuses_on_every_degree_era(era, name, fork):
    """The cold search found B10 on v4.0, B6's fixed era, whose fix
    (7a3ef208e662) brought the degree rule in: ten lines of forks and
    exits, nothing mapped but the stack; and, with process churn in the
    swarms, on v5.19 itself: a chain of forks in which two parents exit.
    Every era with ``degree`` gives the same broken invariant; 6.0's
    num_children/num_active_vmas do not."""
    ex = replay_found(str(HERE / name), None, era)
    assert ex.failure is not None and ex.failure.kind == "invariant"
    assert "I-9: VMAs sharing one anon_vma have different chains" in ex.failure.text
    assert fork in ex.failure.text


@pytest.mark.parametrize("era", ["v6.0", "v6.18"])
@pytest.mark.parametrize("name", [name for name, _fork in B10_COLD])
def test_b10_cold_reproducer_runs_clean_once_fixed(era, name):
    ex = replay_found(str(HERE / name), None, era)
    assert ex.failure is None and ex.reports == [], ex.reports


def test_b5_cold_reproducer_frees_the_root_under_the_exiting_child_on_3_15():
    """The zoo's shrunk B5 reproducer (seed 4): the parent dies of SIGSEGV
    (a write where nothing is mapped) beside the child's exit; its exit_mmap()
    drops the last VMA of the root's tree between the child's two
    unlink_anon_vmas() passes, and 3.15's __put_anon_vma() frees the root
    before the child, whose anon_vma_free() reads child->root->rwsem.
    624483f3ea82 (3.18) frees the child first."""
    from anonvma.explore.schedule import load_schedule
    bug = BY_ID["B5"]
    ex = replay_found(str(HERE / "B5-cold.scn"), str(HERE / "B5-cold.schedule.json"), None)
    assert ex.failure is not None and ex.failure.kind == "kasan"
    text = ex.failure.text
    assert "BUG: KASAN: slab-use-after-free in anon_vma_free" in text
    assert "by task P1/" in text and "(the field anon_vma->rwsem)" in text
    assert "which belongs to the cache anon_vma" in text
    assert "exit_mmap" in text.split("Freed by task")[1]
    decisions, _info = load_schedule(HERE / "B5-cold.schedule.json")
    program = _session("B5-cold", bug.fixed)
    assert execute(program, Replay(decisions)).failure is None
    assert explore_program(program, Random(seed=0), budget_runs=40).failure is None
