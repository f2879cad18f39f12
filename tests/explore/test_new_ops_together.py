"""The operations that take the mmap lock (mlock, mseal, mbind, brk, a
thread's mmap) run under 'together' and the explorer interleaves them at
their lock operations: bounded DFS finds more than one schedule and no
problem."""

from __future__ import annotations

from anonvma.explore import explore

SCENARIO = """\
P0 mmap 0 8
P0 write 0
P0 thread T1
P0 fork P1
together
P0 mlock 0 8
T1 mseal 4 2
P1 mbind 0 4 bind
P1 brk 2
end
P0 munlock 0 4
"""


def test_mlock_mseal_mbind_brk_interleave_without_a_problem(tmp_path):
    path = tmp_path / "together.scn"
    path.write_text(SCENARIO)
    r = explore(path, strategy="dfs", budget_runs=300, max_preemptions=1, progress=False)
    assert r.failure is None
    assert r.runs > 1


MADVISE = """\
P0 mmap 0 8
P0 write 0
P0 mmap 16 4
P0 thread T1
P0 fork P1
together
P0 madvise 16 2 guard_install
T1 madvise 0 4 hugepage
P1 madvise 0 8 populate_write
P1 process_madvise P0 0 8 pageout
T1 madvise 4 4 free
end
P0 madvise 0 8 nohugepage
P0 write 17
"""


def test_madvise_guards_populate_and_hugepage_interleave_without_a_problem(tmp_path):
    """guard_install prepares an anon_vma under the mmap read lock,
    hugepage splits under the write lock, populate faults and a remote
    pageout walks the rmap: the explorer interleaves them at their locks."""
    path = tmp_path / "madvise.scn"
    path.write_text(MADVISE)
    r = explore(path, strategy="dfs", budget_runs=300, max_preemptions=1, progress=False)
    assert r.failure is None
    assert r.runs > 1


UFFD = """\
P0 mmap 0 4
P0 write 0
P0 write 1
P0 mmap 8 4
P0 uffd_register 8 4
P0 thread T1
P0 fork P1
P1 exit
together
P0 uffd_move 0 2 8
T1 madvise 0 4 pageout
T1 mprotect 10 2 r
end
P0 write 8
"""


def test_uffd_move_interleaves_with_reclaim_and_mprotect_without_a_problem(tmp_path):
    """UFFDIO_MOVE takes the mmap read lock and, for each folio, the write
    lock of the anon_vma it pins; reclaim walks the same anon_vma and
    mprotect splits the destination: the explorer interleaves them."""
    path = tmp_path / "uffd.scn"
    path.write_text(UFFD)
    r = explore(path, strategy="dfs", budget_runs=300, max_preemptions=1, progress=False)
    assert r.failure is None
    assert r.runs > 1
