"""KASAN and the growth detector, on objects freed and hierarchies grown by
hand, as the history notes (§2 B5, B6) describe them."""

from __future__ import annotations

from anonvma.checks.growth import SLACK, Growth, check_growth, growth_metric
from anonvma.kernel.mm.kasan import kasan_init
from anonvma.kernel.mm.mm_types import anon_vma, folio
from anonvma.scenario import parse
from anonvma.session import Config, Session
from anonvma.variants import VARIANTS
from anonvma.zoo.pictures import chain_curve, fork_loop


def _boot(era: str, text: str = "P0 mmap 0 4\nP0 write 0\nP0 fork P1\n"):
    machine = Session(parse(text), Config(variant=era, checks=False, lockdep=False)).boot()
    return machine


def test_kasan_reports_a_stale_folio_mapping_in_the_kernels_format():
    machine = _boot("v6.18")
    k = machine.kernel
    kasan_init(k)
    av = k.anon_vma_alloc()
    av.refcount = 0
    k.anon_vma_free(av)
    page = folio(1)
    page.mapping, page._mapcount = av, 0      # mapped, through a freed anon_vma
    k.folio_lock_anon_vma_read(page, None)
    kind, text = next(r for r in machine.reports if r[0] == "kasan")
    lines = text.splitlines()
    assert lines[1] == "BUG: KASAN: slab-use-after-free in folio_lock_anon_vma_read"
    assert lines[2].startswith("Read of size 8 at addr ffff8881") and "by task" in lines[2]
    assert "Allocated by task" in text and "Freed by task" in text
    assert " which belongs to the cache anon_vma of size 96" in text
    assert "(the field anon_vma->root)" in text
    # the first report only, as without kasan_multi_shot
    k.folio_lock_anon_vma_read(page, None)
    assert [r[0] for r in machine.reports].count("kasan") == 1
    # LIFO: the same slot comes back, unpoisoned
    again = k.anon_vma_alloc()
    assert again is av and type(again) is anon_vma


def test_kasan_detached_leaves_the_objects_alone():
    k = _boot("v6.18").kernel
    av = k.anon_vma_alloc()
    av.refcount = 0
    k.anon_vma_free(av)
    assert type(av) is anon_vma


def test_checkers_read_freed_objects_without_a_report():
    machine = _boot("v6.18")
    kasan_init(machine.kernel)
    machine.run_steps()
    av = machine.kernel.anon_vma_alloc()
    av.refcount = 0
    machine.kernel.anon_vma_free(av)
    assert av.freed and av.refcount == 0       # read from a test: not the kernel's access
    assert machine.reports == []


def test_b5_old_put_order_frees_the_root_first():
    """B5 on 3.15: a child put while its root's tree is already empty frees
    the root, then reads child->root in anon_vma_free()."""
    for era, reported in (("v3.15", True), ("v3.18", False)):
        machine = _boot(era)
        k = machine.kernel
        kasan_init(k)
        root = k.anon_vma_alloc()
        child = k.anon_vma_alloc()
        child.root = root
        root.refcount = 1               # pinned by the child only: its tree is empty
        child.refcount = 0
        k._put_anon_vma(child)
        kinds = [kind for kind, _ in machine.reports]
        assert ("kasan" in kinds) == reported, era


def test_growth_bound_holds_on_4_0_and_breaks_on_3_18():
    iterations = 2 * SLACK + 4
    text = fork_loop(iterations)
    for era, grows in (("v3.18", True), ("v4.0", False)):
        machine = _boot(era, text)
        machine.run_steps()
        assert bool(check_growth(machine.kernel)) == grows, era


def test_chain_curve_grows_by_one_per_generation_before_the_fix():
    before = chain_curve("v3.18", 10)
    after = chain_curve("v4.0", 10)
    assert [p[1] for p in before] == list(range(2, 12))
    assert max(p[1] for p in after) == 3


def test_every_era_has_an_anon_vma_cache_kasan_can_poison():
    for cls in VARIANTS.values():
        k = cls()
        assert any(c.name == "anon_vma" for c in k.slab_caches)


def test_rmap_sanity_check_warns_on_an_anon_vma_with_refcount_zero():
    """Jann Horn's check: unmapping a folio through an anon_vma nobody
    holds any more."""
    machine = _boot("v6.18")
    k = machine.kernel
    av = k.anon_vma_alloc()
    page = folio(1)
    page.mapping, page._mapcount = av, 0
    k.folio_remove_rmap_pte(page, None)
    assert machine.reports == []
    page._mapcount = 0
    av.refcount = 0
    k.folio_remove_rmap_pte(page, None)
    assert machine.reports == [("warning", "WARNING: __folio_rmap_sanity_checks: the folio's "
                                "anon_vma has refcount 0")]


def fork_chain(n: int) -> str:
    """P0 forks P1, which forks P2, ... up to Pn, all of them live; then
    the n ancestors exit."""
    return "".join(f"P{i} fork P{i + 1}\n" for i in range(n)) + \
        "".join(f"P{i} exit\n" for i in range(n))


def test_a_chain_built_by_live_processes_outlives_them_within_the_bound():
    """From 3.19 anon_vma_fork() adds an anon_vma to the child's chain only
    when none on the parent's chain passes the reuse test: here every one
    is the stack anon_vma of a live process (num_active_vmas 1; the root
    has two children counting its self-parent link), so Pn's stack chain is
    n + 1 long.  The ancestors' exits unlink their own chains only, and
    Pn's keeps all n + 1: past 2 x (live mms) + SLACK with one mm live, but
    within the bound on the most mms live at once (n + 1)."""
    n = 8
    for era in ("v4.0", "v6.0", "v6.18", "v7.0"):
        machine = _boot(era, fork_chain(n))
        growth = Growth(machine.kernel)
        machine.run_steps()
        _anon_vmas, vmas, longest = growth_metric(machine.kernel)
        assert (vmas, longest) == (1, n + 1), era
        assert longest > 2 * 1 + SLACK and check_growth(machine.kernel), era
        assert growth.most_mms == n + 1 and not check_growth(machine.kernel, n + 1), era
        assert not [r for r in machine.reports if r[0] == "growth"], era


def test_the_fork_loop_passes_the_bound_on_the_most_mms_on_3_18():
    """Daniel Forrest's loop keeps two mms live at most while the chain
    grows by one a generation: the growth detector reports it once the
    chain is past 2 x 2 + SLACK, on 3.18 only."""
    text = fork_loop(2 * 2 + SLACK + 1)
    for era, grows in (("v3.18", True), ("v4.0", False)):
        machine = _boot(era, text)
        Growth(machine.kernel)
        machine.run_steps()
        reports = [text for kind, text in machine.reports if kind == "growth"]
        assert bool(reports) == grows, era
        assert not reports or "at most 2 at once" in reports[0]
