"""The eras of history.md §2 as classes: each neighbouring pair differs in
exactly the functions its commit changed, every shared scenario runs on
every era with that era's invariants, the degree era's counter check
catches a broken counter, and 7.0 gives the traces its source implies."""

from __future__ import annotations

import pathlib
import re
from collections import Counter

import pytest

from anonvma.checks.common import check_chains, live_vmas as _vmas
from anonvma.checks.invariants_degree import check_degree
from anonvma.kernel import Linux
from anonvma.session import Config, Session
from anonvma.scenario import parse, parse_file
from anonvma.variants import NEWEST, VARIANTS
from anonvma.variants.diff import differing_functions, variant_diff

SCENARIOS = pathlib.Path(__file__).parents[1] / "scenarios"
SHARED = sorted((SCENARIOS / "shared").glob("*.scn"))

# (older, newer): the functions the commit between them changes.
PATCHES = {
    # B4, Hugh Dickins's "mm: fix hang on anon_vma->root->lock"
    ("v2.6.36-rc1", "v2.6.36"): {"page_lock_anon_vma"},
    # nothing of the rmap code the model keeps changed (v2_6_36.py)
    ("v2.6.36", "v2.6.39"): set(),
    # 2b575eb64f7a, the mutex (which may sleep: the read section ends in
    # page_lock_anon_vma() now, not in page_unlock_anon_vma())
    ("v2.6.39", "v3.0-rc1"): {
        "anon_vma_ctor", "anon_vma_free", "anon_vma_init", "anon_vma_lock_write",
        "anon_vma_unlock_write", "page_lock_anon_vma", "page_unlock_anon_vma"},
    # bb4aa39676f7, anon_vma_clone's batching
    ("v3.0-rc1", "v3.0-rc2-clone"): {"anon_vma_chain_link", "anon_vma_clone", "anon_vma_fork"},
    # the two-pass unlink_anon_vmas
    ("v3.0-rc2-clone", "v3.0-rc2"): {"anon_vma_unlink", "unlink_anon_vmas"},
    # dd34739c03f2, the seed
    ("v3.0-rc2", "v3.0"): {"anon_vma_clone"},
    # 5a505085f043 + 4fc3f1d66b1e: the root mutex becomes an rwsem, the
    # walks take it for read (page_lock_anon_vma_read)
    ("v3.7", "v3.8"): {
        "anon_vma_ctor", "anon_vma_free", "anon_vma_init", "anon_vma_lock_write",
        "anon_vma_unlock_read", "anon_vma_unlock_write", "folio_lock_anon_vma_read",
        "lock_anon_vma_root", "page_lock_anon_vma", "unlock_anon_vma_root"},
    # ce6711f3d196 changes the rwsem's timing only (docs/performance.md)
    ("v3.8", "v3.9"): set(),
    # nothing of the rmap code the model keeps changed from 3.9 to 3.15
    ("v3.9", "v3.15"): set(),
    # B5, 624483f3ea82
    ("v3.15", "v3.18"): {"_put_anon_vma"},
    # B6's fix 7a3ef208e662: ->degree and ->parent
    ("v3.18", "v3.19-rc4"): {
        "anon_vma_init", "anon_vma_alloc", "_anon_vma_prepare", "anon_vma_clone",
        "anon_vma_fork", "unlink_anon_vmas"},
    # B8's fix: importer->anon_vma before the clone, src->anon_vma test
    ("v3.19-rc4", "v3.19"): {"anon_vma_clone", "dup_anon_vma"},
    # B9's fix: dst->anon_vma = NULL on the clone error path
    ("v3.19", "v4.0"): {"anon_vma_clone"},
    # 4.14's lockdep fs_reclaim annotation, 5.7's MREMAP_DONTUNMAP, 5.9's
    # refcount-based COW reuse (09854ba94c6a)
    ("v4.0", "v5.19"): {"fs_reclaim_acquire", "fs_reclaim_release", "_fs_reclaim_acquire",
                        "_fs_reclaim_release", "check_mremap_params", "do_wp_page",
                        "reuse_swap_page"},
    # CVE-2022-42703's fix 2555283eb40d: num_children/num_active_vmas
    ("v5.19", "v6.0"): {
        "anon_vma_init", "anon_vma_alloc", "_anon_vma_prepare", "anon_vma_clone",
        "anon_vma_fork", "unlink_anon_vmas"},
    # 0503ea8f5ba7 "mm/mmap: remove __vma_adjust()" (B14 in)
    ("v6.0", "v6.3-rc1"): {"dup_anon_vma", "vma_merge_existing_range"},
    # B14's fix 4c6759967826
    ("v6.3-rc1", "v6.3"): {"vma_merge_existing_range"},
    # 879bca0a2c4f: unfaulted/faulted merges (B17 in)
    ("v6.3", "v6.18.7"): {"is_mergeable_anon_vma"},
    # B17's fix 61f67c230a5e: copied_from
    ("v6.18.7", "v6.18"): {"is_mergeable_anon_vma", "vma_expand", "vma_merge_copied_range"},
    # "mm: clean up anon_vma implementation" (v7_0.py lists its commits)
    ("v6.18", "v7.0-rc"): {
        "_anon_vma_prepare", "_split_vma", "anon_vma_chain_assign", "anon_vma_chain_link",
        "anon_vma_clone", "anon_vma_fork", "anon_vma_merge", "check_anon_vma_clone",
        "cleanup_partial_anon_vmas", "copy_vma", "dup_anon_vma", "lock_anon_vma_root",
        "maybe_reuse_anon_vma", "unlink_anon_vmas", "unlock_anon_vma_root", "vma_complete"},
    # 3a206a8649f8 "mm/rmap: clear vma->anon_vma on error"
    ("v7.0-rc", "v7.0"): {"cleanup_partial_anon_vmas"},
}

ERA_KNOWLEDGE = {
    # name: (rmap_layout, rmap_counters, anon_vma_lock, lockdep_flavour)
    "v2.6.36-rc1": ("list", None, "spinlock", "reclaim_fs"),
    "v2.6.36": ("list", None, "spinlock", "reclaim_fs"),
    "v2.6.39": ("list", None, "spinlock", "reclaim_fs"),
    "v3.0-rc1": ("list", None, "mutex", "reclaim_fs"),
    "v3.0-rc2-clone": ("list", None, "mutex", "reclaim_fs"),
    "v3.0-rc2": ("list", None, "mutex", "reclaim_fs"),
    "v3.0": ("list", None, "mutex", "reclaim_fs"),
    "v3.7": ("interval_tree", None, "mutex", "reclaim_fs"),
    "v3.8": ("interval_tree", None, "rwsem", "reclaim_fs"),
    "v3.9": ("interval_tree", None, "rwsem", "reclaim_fs"),
    "v3.15": ("interval_tree", None, "rwsem", "reclaim_fs"),
    "v3.18": ("interval_tree", None, "rwsem", "reclaim_fs"),
    "v3.19-rc4": ("interval_tree", "degree", "rwsem", "reclaim_fs"),
    "v3.19": ("interval_tree", "degree", "rwsem", "reclaim_fs"),
    "v4.0": ("interval_tree", "degree", "rwsem", "reclaim_fs"),
    "v5.19": ("interval_tree", "degree", "rwsem", "fs_reclaim"),
    "v6.0": ("interval_tree", "num_children", "rwsem", "fs_reclaim"),
    "v6.3-rc1": ("interval_tree", "num_children", "rwsem", "fs_reclaim"),
    "v6.3": ("interval_tree", "num_children", "rwsem", "fs_reclaim"),
    "v6.18.7": ("interval_tree", "num_children", "rwsem", "fs_reclaim"),
    "v7.0-rc": ("interval_tree", "num_children", "rwsem", "fs_reclaim"),
    "v7.0": ("interval_tree", "num_children", "rwsem", "fs_reclaim"),
}


def test_every_era_is_registered_oldest_first_with_6_18_the_default():
    names = list(VARIANTS)
    assert names == list(ERA_KNOWLEDGE)[:20] + ["v6.18"] + list(ERA_KNOWLEDGE)[20:]
    assert NEWEST == "v6.18" and VARIANTS[NEWEST] is Linux
    assert all(cls.description for cls in VARIANTS.values())


@pytest.mark.parametrize("name", ERA_KNOWLEDGE)
def test_era_knowledge(name):
    cls = VARIANTS[name]
    assert (cls.rmap_layout, cls.rmap_counters, cls.anon_vma_lock,
            cls.lockdep_flavour) == ERA_KNOWLEDGE[name]
    # the lockdep the model attaches agrees with the flavour


def test_patches_cover_every_neighbour_pair():
    names = list(VARIANTS)
    # 3.0 -> 3.7 is a year and a half of mm/ (the interval tree over 6.18's
    # VMA code): test_3_7_is_the_interval_tree_under_the_mutex checks its core
    assert set(PATCHES) == set(zip(names, names[1:])) - {("v3.0", "v3.7")}


@pytest.mark.parametrize("pair", PATCHES, ids=lambda p: f"{p[0]}..{p[1]}")
def test_diff_between_neighbours_is_the_patch(pair):
    old, new = (VARIANTS[n] for n in pair)
    assert set(differing_functions(old, new)) == PATCHES[pair]
    # one hunk group per function, naming both classes' definitions
    text = variant_diff(old, new)
    assert sum(line.startswith("--- ") for line in text.splitlines()) == len(PATCHES[pair])


def _changed(old: str, new: str) -> tuple[list[str], list[str]]:
    """The removed and the added lines of ``anonvma diff old new``, stripped."""
    lines = variant_diff(VARIANTS[old], VARIANTS[new]).splitlines()
    removed = [l[1:].strip() for l in lines if l.startswith("-") and not l.startswith("---")]
    added = [l[1:].strip() for l in lines if l.startswith("+") and not l.startswith("+++")]
    return removed, added


def test_3_7_diff_from_3_0_is_the_interval_tree():
    # bf181b9f9d8d: list_add_tail/list_del on anon_vma->head become the
    # interval tree's insert and remove; the root lock functions are 3.0's own
    removed, added = _changed("v3.0", "v3.7")
    assert "av.head[avc] = None                         # list_add_tail()" in removed
    assert "anon_vma_interval_tree_insert(avc, av.rb_root)" in added
    assert "del av.head[avc]                        # list_del(&avc->same_anon_vma)" in removed
    assert "anon_vma_interval_tree_remove(avc, av.rb_root)" in added
    same = {"lock_anon_vma_root", "unlock_anon_vma_root", "anon_vma_lock_write",
            "anon_vma_unlock_write", "anon_vma_free", "page_lock_anon_vma"}
    assert not same & set(differing_functions(VARIANTS["v3.0"], VARIANTS["v3.7"]))


def test_3_8_diff_is_the_rwsem_conversion():
    removed, added = _changed("v3.7", "v3.8")
    assert "mutex_lock(root.mutex)" in removed and "down_write(root.rwsem)" in added
    assert "if mutex_is_locked(av.root.mutex):" in removed
    assert "if rwsem_is_locked(av.root.rwsem):" in added
    assert "if down_read_trylock(root.rwsem):" in added


def test_3_7_is_the_interval_tree_under_the_mutex():
    """Each root anon_vma of P0 holds the AVCs of P0, P1 and P2 in its
    interval tree, and every anon_vma lock the forks took is a root's mutex."""
    from anonvma.kernel.kernel.locking.mutex import mutex
    from anonvma.kernel.mm.interval_tree import anon_vma_interval_tree_check
    machine = Session(parse("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 fork P2\n"),
                      Config(variant="v3.7", checks=False)).boot()
    taken = []
    machine.kernel.trace.lock_acquire.register(
        lambda lock, subclass, trylock, read, ip: taken.append(lock.key.name))
    machine.run_steps()
    k = machine.kernel
    roots = [av for av in k.anon_vma_cachep.live if av.root is av]
    assert roots and all(type(av.mutex) is mutex for av in roots)
    assert not hasattr(roots[0], "rwsem") and not hasattr(roots[0], "head")
    assert [anon_vma_interval_tree_check(av.rb_root) for av in roots] == [3] * len(roots)
    assert taken.count("&anon_vma->mutex") >= 4 and "&anon_vma->rwsem" not in taken


def test_b5_diff_is_the_order_of_the_two_frees():
    # 624483f3ea82: anon_vma_free(anon_vma) moves before the root's put
    removed, added = _changed("v3.15", "v3.18")
    assert "self.anon_vma_free(av)" in removed and "self.anon_vma_free(av)" in added


def test_b9_diff_is_the_null_on_the_error_path():
    removed, added = _changed("v3.19", "v4.0")
    assert "dst.anon_vma = None" in added and "dst.anon_vma = None" not in removed


def test_7_0_fix_diff_is_the_reset():
    removed, added = _changed("v7.0-rc", "v7.0")
    assert added[-1] == "vma.anon_vma = None"


# -- every shared scenario on every era ---------------------------------------------

@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("scn", SHARED, ids=lambda p: p.stem)
def test_shared_scenarios_hold_every_invariant_of_the_era(scn, variant):
    """7.0 clones a chain reversed: its era says so (chain_root_last), and
    I-3 then asks only for one root."""
    result = Session(parse_file(str(scn)), Config(variant=variant)).run()
    assert result.variant == variant
    assert result.problems == []


def test_7_0_breaks_only_the_root_last_order():
    machine = Session(parse("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 0\nP1 fork P2\n"),
                      Config(variant="v7.0", checks=False)).boot()
    machine.run_steps()
    k = machine.kernel
    assert k.chain_root_last is False

    def chains(root_last):
        return check_chains(_vmas(k), k.anon_vma_chain_cachep.live, lambda where, avc: [],
                            root_last)
    assert chains(False) == []
    assert chains(True) and all("chain does not end at its single root" in p
                                for p in chains(True))


# -- the degree counter ------------------------------------------------------------------

def _run(variant: str, text: str):
    machine = Session(parse(text), Config(variant=variant, checks=False)).boot()
    machine.run_steps()
    return machine.kernel


FORK_CHAIN = "P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 0\nP1 fork P2\nP1 exit\nP2 fork P3\n"


def test_check_degree_holds_through_reuse():
    k = _run("v5.19", FORK_CHAIN)
    anon_vmas = k.anon_vma_cachep.live
    assert check_degree(k, anon_vmas, _vmas(k)) == []
    # P1's anon_vma lost its VMA when P1 exited and was reused for P3
    assert any(av.parent is not av and av.degree == 2 for av in anon_vmas)


def test_check_degree_reports_a_broken_counter():
    k = _run("v5.19", FORK_CHAIN)
    anon_vmas = list(k.anon_vma_cachep.live)
    victim = next(av for av in anon_vmas if av.root is av and av.rb_root)
    victim.degree += 1
    (line,) = check_degree(k, anon_vmas, _vmas(k))
    assert line.startswith(f"I-12: anon_vma #{anon_vmas.index(victim) + 1} degree=")
    victim.degree = -1
    (line,) = check_degree(k, anon_vmas, _vmas(k))
    assert "is negative" in line


def test_invariant_dispatcher_runs_the_degree_check():
    k = _run("v4.0", FORK_CHAIN)
    from anonvma.checks.invariants import check_invariants
    assert check_invariants(k) == []
    next(iter(k.anon_vma_cachep.live)).degree += 5
    assert [p for p in check_invariants(k) if p.startswith("I-12:")]


# -- 7.0 against the live kernel and against its own source -------------------------------

def _expected(scn: pathlib.Path) -> list[str]:
    lines = [l for l in scn.with_suffix(".expected").read_text().splitlines() if l]
    return [l for l in lines if l.split()[1][0] in "+-"]


NO_FORK = [p for p in sorted(SCENARIOS.glob("*/*.scn")) if " fork " not in p.read_text()]


@pytest.mark.parametrize("variant", ["v7.0-rc", "v7.0"])
@pytest.mark.parametrize("scn", NO_FORK, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_7_0_matches_the_live_kernel_where_nothing_forks(scn, variant):
    """Without fork the rework changes no allocation: the live 6.18 trace is
    7.0's too (every prep, split, merge, mremap and unlink allocates and
    frees in the same order)."""
    result = Session(parse_file(str(scn)), Config(variant=variant)).run()
    assert result.events == _expected(scn)
    assert result.problems == []


FORKS = [p for p in sorted(SCENARIOS.glob("*/*.scn")) if " fork " in p.read_text()]
_EVENT = re.compile(r"^(\S+) ([+-])(AVC|AV)(pre)?(\d+):(\S+)$")


def _allocated_and_freed(events: list[str]) -> Counter:
    """Object events without their order and numbering: (process, +/-,
    object, call site) counted.  An object anon_vma_fork() allocated and its
    own process freed again is left out: 7.0 does that with the pair it
    preallocated whenever the clone reuses an anon_vma."""
    parsed = [_EVENT.match(line).groups() for line in events]
    born = {(kind, pre, n): (proc, site) for proc, sign, kind, pre, n, site in parsed if sign == "+"}
    put_back = {(kind, pre, n) for proc, sign, kind, pre, n, _site in parsed
                if sign == "-" and born.get((kind, pre, n), (None, None)) == (proc, "fork")}
    return Counter((proc, sign, kind, pre, site) for proc, sign, kind, pre, n, site in parsed
                   if (kind, pre, n) not in put_back)


@pytest.mark.parametrize("variant", ["v7.0-rc", "v7.0"])
@pytest.mark.parametrize("scn", FORKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_7_0_allocates_and_frees_what_the_live_kernel_does_where_it_forks(scn, variant):
    """With fork the rework changes the order, not the objects (7.0
    mm/rmap.c): anon_vma_fork() allocates the child's anon_vma and AVC
    before anon_vma_clone(), which allocates the clones newest first; when
    maybe_reuse_anon_vma() reuses an anon_vma, the preallocated pair is put
    back ("An error arose or an existing anon_vma was reused, all done
    then").  So every process allocates and frees the objects of the live
    6.18 trace from the same call sites, and only those, order, numbering
    and put-back pairs aside (the exact 7.0 order is derived by hand in the
    two tests below)."""
    result = Session(parse_file(str(scn)), Config(variant=variant)).run()
    assert _allocated_and_freed(result.events) == _allocated_and_freed(_expected(scn))
    assert result.problems == []


def test_the_fork_comparison_tells_eras_apart():
    """The order-free comparison above still sees what an era changes: 3.18
    (no anon_vma reuse) allocates anon_vmas the live 6.18 reuses."""
    differ = [scn for scn in FORKS if _allocated_and_freed(
        Session(parse_file(str(scn)), Config(variant="v3.18", checks=False)).run().events)
        != _allocated_and_freed(_expected(scn))]
    assert differ


def test_7_0_fork_preallocates_its_own_anon_vma():
    """a_fork_once on 7.0, line by line from 7.0 mm/rmap.c:

    anon_vma_fork() allocates the child's anon_vma and AVC first
    (anon_vma_alloc(), anon_vma_chain_alloc(GFP_KERNEL)), then calls
    anon_vma_clone(vma, pvma, VMA_OP_FORK), which allocates one AVC per AVC
    of the parent's chain; nothing is reused (the parent's anon_vma has an
    active VMA), so both are kept and the child's AVC goes at the head of
    its chain.  dup_mmap() forks the scenario VMA, then the stack.  On
    exit, unlink_anon_vmas() walks the chain from its head: the child's own
    AVC (its anon_vma empties: kept for the second loop), then the clone of
    the parent's (freed at once, the parent still maps it); the second loop
    puts the child's anon_vma and frees its AVC.  (The live 6.18 trace of
    the same scenario is in shared/a_fork_once.expected: the clone comes
    first there.)"""
    result = Session(parse_file(str(SCENARIOS / "shared" / "a_fork_once.scn")), Config(variant="v7.0", checks=False)).run()
    assert result.events == [
        "P0 +AVC1:prep", "P0 +AV1:prep",
        # fork, scenario VMA: own anon_vma + AVC, then the clone of AVC1
        "P0 +AV2:fork", "P0 +AVC2:fork", "P0 +AVC3:clone/fork",
        # fork, stack: likewise, cloning AVCpre1
        "P0 +AV3:fork", "P0 +AVC4:fork", "P0 +AVC5:clone/fork",
        # P1 exits: chain [AVC2 (AV2), AVC3 (AV1)], then [AVC4 (AV3), AVC5 (AVpre1)]
        "P1 -AVC3:u1/pgt", "P1 -AV2:put", "P1 -AVC2:u2/pgt",
        "P1 -AVC5:u1/pgt", "P1 -AV3:put", "P1 -AVC4:u2/pgt",
        "P0 -AV1:put", "P0 -AVC1:u2/pgt", "P0 -AVpre1:put", "P0 -AVCpre1:u2/pgt",
    ]


REUSE = ("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 0\nP1 fork P2\nP1 exit\n"
         "P2 write 0\nP2 fork P3\nP3 exit\nP2 exit\nP0 exit\n")


def test_7_0_reuse_puts_back_the_preallocated_pair_and_clones_reversed():
    """The reuse case, derived by hand from 7.0 mm/rmap.c.

    anon_vma_clone() allocates in src-chain order, list_for_each_entry()
    from the head (newest first), and anon_vma_chain_assign() adds each AVC
    at dst's head, so dst's chain is src's reversed; the insert loop,
    list_for_each_entry_reverse() over dst, then offers src's anon_vmas to
    maybe_reuse_anon_vma() newest first.  When P2 forks P3, P1's anon_vma
    AV2 has no active VMA and one child: reused, and anon_vma_fork() puts
    back AV6 and frees AVC12 ("An error arose or an existing anon_vma was
    reused, all done then").  unlink_anon_vmas() frees in chain order."""
    result = Session(parse(REUSE), Config(variant="v7.0", checks=False)).run()
    assert result.events == [
        "P0 +AVC1:prep", "P0 +AV1:prep",
        "P0 +AV2:fork", "P0 +AVC2:fork", "P0 +AVC3:clone/fork",
        "P0 +AV3:fork", "P0 +AVC4:fork", "P0 +AVC5:clone/fork",
        # P1 forks P2: V1's chain is [AVC2 (AV2), AVC3 (AV1)]; clones AVC7
        # (AV2) then AVC8 (AV1); V2's chain [AVC6 (AV4), AVC8, AVC7]
        "P1 +AV4:fork", "P1 +AVC6:fork", "P1 +AVC7:clone/fork", "P1 +AVC8:clone/fork",
        "P1 +AV5:fork", "P1 +AVC9:fork", "P1 +AVC10:clone/fork", "P1 +AVC11:clone/fork",
        # P1 exits: every anon_vma it links keeps P2's AVC: first loop only
        "P1 -AVC2:u1/pgt", "P1 -AVC3:u1/pgt", "P1 -AVC4:u1/pgt", "P1 -AVC5:u1/pgt",
        # P2 forks P3: clones of AVC6 (AV4), AVC8 (AV1), AVC7 (AV2); AV2 reused
        "P2 +AV6:fork", "P2 +AVC12:fork",
        "P2 +AVC13:clone/fork", "P2 +AVC14:clone/fork", "P2 +AVC15:clone/fork",
        "P2 -AV6:put", "P2 -AVC12:fork",
        # stack: clones of AVC9 (AV5), AVC11 (AVpre1), AVC10 (AV3); AV3 reused
        "P2 +AV7:fork", "P2 +AVC16:fork",
        "P2 +AVC17:clone/fork", "P2 +AVC18:clone/fork", "P2 +AVC19:clone/fork",
        "P2 -AV7:put", "P2 -AVC16:fork",
        # P3 exits: chain [AVC15, AVC14, AVC13], every tree keeps another AVC
        "P3 -AVC15:u1/pgt", "P3 -AVC14:u1/pgt", "P3 -AVC13:u1/pgt",
        "P3 -AVC19:u1/pgt", "P3 -AVC18:u1/pgt", "P3 -AVC17:u1/pgt",
        # P2 exits: [AVC6 (AV4, empties), AVC8 (AV1), AVC7 (AV2, empties)]
        "P2 -AVC8:u1/pgt", "P2 -AV4:put", "P2 -AVC6:u2/pgt", "P2 -AV2:put", "P2 -AVC7:u2/pgt",
        "P2 -AVC11:u1/pgt", "P2 -AV5:put", "P2 -AVC9:u2/pgt", "P2 -AV3:put", "P2 -AVC10:u2/pgt",
        "P0 -AV1:put", "P0 -AVC1:u2/pgt", "P0 -AVpre1:put", "P0 -AVCpre1:u2/pgt",
    ]


# -- 3a206a8649f8 ---------------------------------------------------------------------------

FAILED_MERGE = """\
set failslab.ignore_gfp_wait N
set failslab.cache anon_vma_chain
set fail_nth 7:1
P0 mmap 0 4 rw
P0 mmap 4 4 rwx
P0 write 4
P0 mprotect 4 4 rw
P0 exit
"""


def test_failed_merge_clone_leaves_a_dangling_anon_vma_on_7_0_rc_only():
    """mprotect makes the unfaulted [0, 4) absorb the faulted [4, 8):
    dup_anon_vma() sets dst->anon_vma, and the clone's one GFP_KERNEL AVC
    allocation fails (7.0 has no GFP_NOWAIT try to fail first)."""
    rc = Session(parse(FAILED_MERGE), Config(variant="v7.0-rc")).run()
    assert "P0 !mprotect ENOMEM" in rc.others
    assert any("I-10:" in p and "num_active_vmas=1, but 2 VMAs" in p for p in rc.problems)
    assert any(p == "WARNING: unlink_anon_vmas: num_active_vmas" for p in rc.problems)
    fixed = Session(parse(FAILED_MERGE), Config(variant="v7.0")).run()
    assert "P0 !mprotect ENOMEM" in fixed.others
    assert fixed.problems == []
    # 6.18 falls back from GFP_NOWAIT to GFP_KERNEL under no lock: the merge
    # goes through
    today = Session(parse(FAILED_MERGE), Config(variant="v6.18")).run()
    assert today.others == [] and today.problems == []


# -- the bugs the era pairs are about, where the model can show them now -------------------

def test_b17_mremap_merge_frees_a_mapped_folios_anon_vma_on_6_18_7_only():
    scn = SCENARIOS / "kernel" / "mremap_back_merges_unfaulted_target.scn"
    buggy = Session(parse_file(str(scn)), Config(variant="v6.18.7")).run()
    assert any("I-8:" in p and "is mapped but its anon_vma is freed" in p for p in buggy.problems)
    assert Session(parse_file(str(scn)), Config(variant="v6.18")).run().problems == []


def _most_alive(events) -> int:
    live = most = 0
    for line in events:
        token = line.split()[1]
        if token.startswith(("+AV", "-AV")) and not token.startswith(("+AVC", "-AVC")):
            live += 1 if token[0] == "+" else -1
            most = max(most, live)
    return most


def test_b6_growth_stops_with_the_degree_rule():
    sc = parse_file(str(SCENARIOS / "shared" / "d_leapfrog50.scn"))
    # 50 generations: two anon_vmas each (scenario VMA and stack), none freed
    assert _most_alive(Session(sc, Config(variant="v3.18", checks=False)).run().events) == 100
    assert _most_alive(Session(sc, Config(variant="v3.19-rc4", checks=False)).run().events) <= 6


def test_b5_root_freed_before_the_child_on_3_15_only():
    for variant, order in (("v3.15", ["root", "child"]), ("v3.18", ["child", "root"])):
        k = VARIANTS[variant]()
        freed = []
        k.trace.kmem_cache_free.register(lambda site, obj, cache: freed.append(obj))
        root, child = k.anon_vma_alloc(), k.anon_vma_alloc()
        child.root = root
        k.get_anon_vma(root)
        k.put_anon_vma(root)            # the root's own reference
        k.put_anon_vma(child)
        assert freed == [{"root": root, "child": child}[o] for o in order], variant


def _fail_every_avc(kernel) -> None:
    """failslab on anon_vma_chain, every allocation, GFP_NOWAIT or not."""
    from anonvma.session import setup_fault_injection
    setup_fault_injection(kernel, {"failslab.probability": 100, "failslab.times": -1,
                                   "failslab.ignore_gfp_wait": False,
                                   "failslab.cache": ["anon_vma_chain"],
                                   "failslab.verbose": 0})


def _run_last_line_failing(variant: str, text: str):
    """The kernel after ``text`` ran on ``variant`` with every AVC allocation
    of its last line failing."""
    sc = parse(text)
    machine = Session(sc, Config(variant=variant, checks=False)).boot()
    machine.run_steps(until=sc.steps[-2].lineno)
    _fail_every_avc(machine.kernel)
    machine.run_step(sc.steps[-1])
    return machine.kernel


def test_b9_failed_split_clone_underflows_degree_on_3_19_only():
    """mprotect of the middle of a faulted VMA splits it; __split_vma()'s
    anon_vma_clone(new, vma) runs with new->anon_vma already set (copied by
    vm_area_dup()) and fails at its first AVC.  3.19's error path keeps
    new->anon_vma, so unlink_anon_vmas(new) drops a degree it never took."""
    from anonvma.checks.invariants import check_invariants
    for variant, broken in (("v3.19", True), ("v4.0", False)):
        k = _run_last_line_failing(variant, "P0 mmap 0 4\nP0 write 0\nP0 mprotect 1 1 r\n")
        degree = [p for p in check_invariants(k) if p.startswith("I-12:")]
        assert bool(degree) == broken, (variant, degree)


@pytest.mark.parametrize("variant", ["v2.6.36", "v3.0", "v3.18", "v4.0", "v6.18"])
def test_a_failed_merge_clone_leaves_the_expanding_vma_unfaulted(variant):
    """mmap between an unfaulted VMA and a faulted one merges all three: the
    expanding prev imports next's anon_vmas.  When every AVC allocation
    fails the merge fails and prev stays as it was, without anon_vma: before
    3.19 vma_adjust() sets importer->anon_vma only after the clone
    succeeded, and 4.0's anon_vma_clone() clears dst->anon_vma on its error
    path for callers that set it first (6.18's dup_anon_vma())."""
    from anonvma.checks.invariants import check_invariants
    k = _run_last_line_failing(variant, "P0 mmap 0 1\nP0 mmap 2 1\nP0 write 2\nP0 mmap 1 1\n")
    prev = k.tasks[-1].mm.mm_mt.find(0x200000000000)
    assert prev.vm_end == 0x200000001000 and prev.anon_vma is None
    assert check_invariants(k) == []


def test_b8_merge_time_clone_counts_degree_on_the_wrong_anon_vma_on_3_19_rc4():
    """3.19-rc4's vma_adjust() cloned into the importer before setting
    importer->anon_vma, which anon_vma_clone() takes for a fork: it reuses
    a degree-1 anon_vma of the exporter's chain and counts it there, then
    importer->anon_vma is overwritten.  The model's merge rule never picks
    such an exporter, so the test calls dup_anon_vma() the way vma_adjust()
    did: P2's VMA has P1's anon_vma (no VMA, one child) on its chain."""
    text = ("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 0\nP1 fork P2\nP1 exit\n"
            "P2 write 0\nP2 mmap 4 4\n")
    for variant, broken in (("v3.19-rc4", True), ("v3.19", False)):
        k = _run(variant, text)
        p2 = next(t for t in k.tasks if t.comm == "P2")
        exporter = p2.mm.mm_mt.find(0x200000000000)
        importer = p2.mm.mm_mt.find(0x200000004000)
        assert len(exporter.anon_vma_chain) == 3 and importer.anon_vma is None
        assert k.dup_anon_vma(importer, exporter)[0] == 0
        assert importer.anon_vma is exporter.anon_vma
        bad = check_degree(k, k.anon_vma_cachep.live, _vmas(k))
        assert bool(bad) == broken, (variant, bad)
