"""The seed's eras: their traces show the era's behaviour, ``anonvma diff``
shows the seed patch, and 2011 lockdep catches the seed bug on v3.0-rc2
(every era's shared-scenario run is in test_eras.py)."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from anonvma.kernel import Linux

from anonvma.session import Config, Session
from anonvma.scenario import parse, parse_file
from anonvma.variants import VARIANTS
from anonvma.variants.diff import differing_functions, variant_diff
from anonvma.variants.v2_6_39 import Linux_2_6_39
from anonvma.variants.v3_0 import GFP_KERNEL, GFP_NOWAIT, Linux_3_0, Linux_3_0_rc2, gfp_from_3_0

SHARED = pathlib.Path(__file__).parents[1] / "scenarios" / "shared"


def test_the_seed_eras_have_2011_lockdep():
    assert list(VARIANTS)[2:7] == ["v2.6.39", "v3.0-rc1", "v3.0-rc2-clone", "v3.0-rc2", "v3.0"]
    assert Linux_3_0.lockdep_flavour == Linux_3_0_rc2.lockdep_flavour == "reclaim_fs"
    assert Linux.lockdep_flavour == "fs_reclaim"


def _anon_vma_counts(events):
    """(created, most alive at once), from the +AVn / -AVn trace events."""
    live, most, created = set(), 0, 0
    for line in events:
        m = re.match(r"\S+ ([+-])AV(\d+):", line)
        if m:
            if m.group(1) == "+":
                live.add(m.group(2))
                created += 1
            else:
                live.discard(m.group(2))
            most = max(most, len(live))
    return created, most


@pytest.mark.parametrize("variant", ["v3.0", "v2.6.39"])
def test_leapfrog_grows_two_anon_vmas_per_generation_without_reuse(variant):
    sc = parse_file(str(SHARED / "d_leapfrog50.scn"))
    old = _anon_vma_counts(Session(sc, Config(variant=variant, checks=False)).run().events)
    new = _anon_vma_counts(Session(sc, Config(variant="v6.18", checks=False)).run().events)
    assert old == (100, 100)            # 50 generations, nothing freed while any lives
    assert new[1] <= 5                  # 6.18 reuses: bounded


def test_diff_of_the_seed_is_only_anon_vma_clone():
    assert differing_functions(Linux_3_0_rc2, Linux_3_0) == ["anon_vma_clone"]
    text = variant_diff(Linux_3_0_rc2, Linux_3_0)
    assert "-        avc = self.anon_vma_chain_alloc(GFP_KERNEL)\n" in text
    assert "+        avc = self.anon_vma_chain_alloc(GFP_NOWAIT | _GFP_NOWARN)\n" in text
    assert "+            root = None\n" in text
    assert text.count("\n--- ") + text.startswith("--- ") == 1


def test_anonvma_diff_command_prints_the_patch():
    r = subprocess.run([sys.executable, "-m", "anonvma", "diff", "v3.0-rc2", "v3.0"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout == variant_diff(Linux_3_0_rc2, Linux_3_0)
    r = subprocess.run([sys.executable, "-m", "anonvma", "diff", "v3.0", "v9"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "unknown variant 'v9'" in r.stderr


def test_2_6_39_takes_the_spinlock_per_avc():
    assert {"anon_vma_chain_link", "anon_vma_clone", "unlink_anon_vmas", "page_lock_anon_vma"} <= set(
        differing_functions(Linux_2_6_39, Linux_3_0_rc2))


def test_gfp_3_0():
    assert GFP_NOWAIT == 0 and GFP_KERNEL == 0xd0
    k = Linux_3_0()
    # 3.0's GFP_NOWAIT may not block; GFP_KERNEL may
    from anonvma.kernel.include.gfp import gfpflags_allow_blocking
    assert not gfpflags_allow_blocking(gfp_from_3_0(GFP_NOWAIT))
    assert gfpflags_allow_blocking(gfp_from_3_0(GFP_KERNEL))
    assert k.name == "v3.0"


def test_put_anon_vma_frees_the_root_before_the_child():
    """3.0's __put_anon_vma: the root goes first (the 2014 KASAN finding)."""
    k = Linux_3_0()
    freed = []
    k.trace.kmem_cache_free.register(lambda site, obj, s: freed.append(obj))
    root = k.anon_vma_alloc()
    child = k.anon_vma_alloc()
    child.root = root
    k.get_anon_vma(root)
    k.put_anon_vma(root)                # the root's own reference
    child.refcount = 0
    k._put_anon_vma(child)
    assert freed == [root, child]
    k6 = Linux()
    freed.clear()
    k6.trace.kmem_cache_free.register(lambda site, obj, s: freed.append(obj))
    root6, child6 = k6.anon_vma_alloc(), k6.anon_vma_alloc()
    child6.root = root6
    k6.get_anon_vma(root6)
    k6.put_anon_vma(root6)
    child6.refcount = 0
    k6._put_anon_vma(child6)
    assert freed == [child6, root6]


def test_wipeonfork_does_not_exist_in_3_0():
    sc = parse("P0 mmap 0 4\nP0 madvise 0 4 wipeonfork\n")
    assert any("EINVAL" in line for line in Session(sc, Config(variant="v3.0", checks=False)).run().lines)
    assert not any("EINVAL" in line for line in Session(sc, Config(variant="v6.18", checks=False)).run().lines)


@pytest.mark.parametrize("variant", ["v3.0", "v3.0-rc2", "v2.6.39"])
def test_mremap_dontunmap_does_not_exist_before_5_7(variant):
    sc = parse("P0 mmap 0 4\nP0 write 0\nP0 mremap 0 4 4 to 16 dontunmap\nP0 maps\n")
    r = Session(sc, Config(variant=variant)).run()
    assert r.others == ["P0 !mremap EINVAL", "P0 maps 200000000000-200000004000 rw-p"]
    assert not r.problems
    assert "P0 !mremap EINVAL" not in Session(sc, Config(variant="v6.18", checks=False)).run().others


def _forked_twice(kernel_cls):
    """P0 faults a page and forks P1, P1 forks P2: P1's chain has two AVCs,
    so anon_vma_clone() for P2 allocates its second AVC under the root lock."""
    machine = Session(parse("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 fork P2\n"),
                      Config(variant=kernel_cls, checks=False)).boot()
    machine.run_steps()
    return machine.kernel


def _reclaim_takes_an_anon_vma_mutex(k):
    """What page_lock_anon_vma()'s slow path does inside direct reclaim,
    the way 3.0's direct reclaim announced itself to lockdep."""
    av = next(iter(k.anon_vma_cachep.live))
    k.trace.lockdep_reclaim_state(0xd0)      # lockdep_set_current_reclaim_state(GFP_KERNEL)
    k.anon_vma_lock_write(av)
    k.anon_vma_unlock_write(av)
    k.trace.lockdep_reclaim_state(0)


def test_lockdep_reclaim_fs_reports_the_seed_bug_on_3_0_rc2():
    k = _forked_twice(Linux_3_0_rc2)
    assert k.lockdep.reports == []
    _reclaim_takes_an_anon_vma_mutex(k)
    (text,) = k.lockdep.reports
    assert "inconsistent {RECLAIM_FS-ON-W} -> {IN-RECLAIM_FS-W} usage." in text
    assert "(&anon_vma->mutex)" in text
    assert "anon_vma_clone" in text


def test_lockdep_is_silent_on_3_0():
    k = _forked_twice(Linux_3_0)
    _reclaim_takes_an_anon_vma_mutex(k)
    assert k.lockdep.reports == []
