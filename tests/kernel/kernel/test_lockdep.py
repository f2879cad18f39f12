"""lockdep on the classic cases, on a toy kernel (no anon_vma model)."""

import pytest

from toy import ToyKernel
from anonvma.kernel.kernel.locking.lock import lock_class_key
from anonvma.kernel.kernel.locking.lockdep import held_locks, lockdep_map
from anonvma.kernel.mm.page_alloc import PageAlloc, fs_reclaim_map
from anonvma.variants.lockdep_reclaim_fs import LockdepReclaimFs
from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_trylock, mutex_unlock
from anonvma.kernel.kernel.locking.rwsem import (
    down_read, down_write, down_write_nested, rw_semaphore, up_read, up_write,
)
from anonvma.kernel.kernel.sched.core import PF_MEMALLOC, PF_MEMALLOC_NOFS

GFP_KERNEL = 0xcc0
GFP_NOWAIT = 0x2800
GFP_KERNEL_3_0 = 0xd0       # __GFP_WAIT | __GFP_IO | __GFP_FS
GFP_NOWAIT_3_0 = 0


@pytest.fixture
def k():
    return ToyKernel()


def as_task(k, comm):
    k.current = k.new_task(comm)
    return k.current


def locks(k, *names):
    return [mutex(k, lock_class_key(n)) for n in names]


def take(*ls):
    for lock in ls:
        mutex_lock(lock)


def drop(*ls):
    for lock in reversed(ls):
        mutex_unlock(lock)


def test_abba_is_one_circular_report_in_kernel_format(k):
    seen = []
    k.trace.report.register(lambda kind, text: seen.append(kind))
    a, b = locks(k, "A", "B")
    as_task(k, "t1")
    take(a, b); drop(a, b)
    as_task(k, "t2")
    take(b, a); drop(b, a)
    as_task(k, "t3")
    take(b, a); drop(b, a)          # the same problem again: not reported twice
    assert len(k.lockdep.reports) == 1 and seen == ["lockdep"]
    text = k.lockdep.reports[0]
    for needle in ("WARNING: possible circular locking dependency detected",
                   "t2/3 is trying to acquire lock:\n(A){+.+.}-{3:3}, at: take",
                   "but task is already holding lock:\n(B){+.+.}-{3:3}, at: take",
                   "which lock already depends on the new lock.",
                   "the existing dependency chain (in reverse order) is:",
                   "-> #1 (B){+.+.}-{3:3}:\n       mutex_lock\n       take\n",
                   "-> #0 (A){+.+.}-{3:3}:",
                   " Possible unsafe locking scenario:",
                   "  lock(B);\n                               lock(A);\n"
                   "                               lock(B);\n  lock(A);",
                   " *** DEADLOCK ***",
                   "1 lock held by t2/3:\n #0: (B){+.+.}-{3:3}, at: take"):
        assert needle in text, needle


def test_three_lock_cycle_prints_the_chain(k):
    a, b, c = locks(k, "A", "B", "C")
    as_task(k, "t1"); take(a, b); drop(a, b)
    as_task(k, "t2"); take(b, c); drop(b, c)
    assert not k.lockdep.reports
    as_task(k, "t3"); take(c, a); drop(c, a)
    (text,) = k.lockdep.reports
    assert "Chain exists of:\n  A --> B --> C" in text
    assert "-> #2 (C)" in text and "-> #1 (B)" in text and "-> #0 (A)" in text


def test_consistent_order_is_silent(k):
    a, b, c = locks(k, "A", "B", "C")
    for comm in ("t1", "t2"):
        as_task(k, comm)
        take(a, b, c); drop(a, b, c)
        take(a, c); drop(a, c)
    assert k.lockdep.reports == []
    assert k.lockdep.nr_edges == 3


def test_rwsem_reader_against_writer_is_a_cycle(k):
    r = rw_semaphore(k, lock_class_key("R"))
    (m,) = locks(k, "M")
    as_task(k, "reader")
    down_read(r); mutex_lock(m); mutex_unlock(m); up_read(r)
    as_task(k, "writer")
    mutex_lock(m); down_write(r); up_write(r); mutex_unlock(m)
    (text,) = k.lockdep.reports
    assert "(R){+++.+}" not in text and "(R){++++}-{3:3}" in text
    assert "  rlock(R);" in text or "  lock(R);" in text


def test_read_after_read_of_one_rwsem_is_recursive_locking(k):
    r = rw_semaphore(k, lock_class_key("R"))
    as_task(k, "t")
    down_read(r); down_read(r)
    (text,) = k.lockdep.reports
    assert "WARNING: possible recursive locking detected" in text
    assert " May be due to missing lock nesting notation" in text


def recursive_read(k, m, read=2):
    """rcu_read_lock()-like: a recursive reader has no lock behind it."""
    k.trace.lock_acquire(m, 0, 0, read, None)


def release(k, m):
    k.trace.lock_release(m, None)


def test_recursive_reader_breaks_the_cycle(k):
    # X recursive-read -> M, and M -> X recursive-read: recursive readers do
    # not block each other, and only a writer could make this deadlock.
    x = lockdep_map("X")
    (m,) = locks(k, "M")
    as_task(k, "t1")
    recursive_read(k, x); mutex_lock(m); mutex_unlock(m); release(k, x)
    as_task(k, "t2")
    mutex_lock(m); recursive_read(k, x); release(k, x); mutex_unlock(m)
    assert k.lockdep.reports == []
    # A non-recursive reader in t2's place can deadlock: a writer may queue
    # between t1's read and t2's.
    as_task(k, "t3")
    mutex_lock(m); recursive_read(k, x, read=1); release(k, x); mutex_unlock(m)
    assert len(k.lockdep.reports) == 1


def test_recursive_read_twice_is_fine_but_write_is_not(k):
    x = lockdep_map("X")
    as_task(k, "t")
    recursive_read(k, x); recursive_read(k, x)
    assert k.lockdep.reports == []
    k.trace.lock_acquire(x, 0, 0, 0, None)
    assert "possible recursive locking detected" in k.lockdep.reports[0]


def test_xr_then_sn_is_not_a_strong_path(k):
    # A -(ER)-> X and X -(SN)-> B do not chain into A -> B, so B -> A closes
    # no cycle.
    (a, b) = locks(k, "A", "B")
    x = lockdep_map("X")
    as_task(k, "t1")
    mutex_lock(a); recursive_read(k, x); release(k, x); mutex_unlock(a)      # A -(ER)-> X
    recursive_read(k, x, read=1); mutex_lock(b); mutex_unlock(b); release(k, x)   # X -(SN)-> B
    as_task(k, "t2")
    mutex_lock(b); mutex_lock(a); mutex_unlock(a); mutex_unlock(b)           # B -> A
    assert k.lockdep.reports == []


def test_nesting_annotation_makes_a_subclass(k):
    key = lock_class_key("&anon_vma->rwsem")
    p, c = rw_semaphore(k, key), rw_semaphore(k, key)
    as_task(k, "t1")
    down_write(p); down_write_nested(c, 1); up_write(c); up_write(p)
    assert k.lockdep.reports == []
    names = sorted(cls.name for cls in k.lockdep.classes.values())
    assert names == ["&anon_vma->rwsem", "&anon_vma->rwsem/1"]
    as_task(k, "t2")
    down_write(p); down_write(c)
    assert "possible recursive locking detected" in k.lockdep.reports[0]


def test_trylock_adds_no_dependency(k):
    a, b, c = locks(k, "A", "B", "C")
    as_task(k, "t1")
    mutex_lock(a)
    assert mutex_trylock(b)
    ca, cb = k.lockdep.classes[a.key], k.lockdep.classes[b.key]
    assert cb not in ca.locks_after
    # A lock taken under the trylocked one depends on it and on the first
    # non-trylock lock below it.
    mutex_lock(c)
    cc = k.lockdep.classes[c.key]
    assert cc in cb.locks_after and cc in ca.locks_after
    drop(c); mutex_unlock(b); mutex_unlock(a)
    as_task(k, "t2")
    take(b, a); drop(b, a)         # B -> A: no cycle, A -> B was a trylock
    assert k.lockdep.reports == []


def test_warm_chain_cache_skips_validation(k, monkeypatch):
    a, b = locks(k, "A", "B")
    as_task(k, "t1")
    take(a, b); drop(a, b)
    chains = k.lockdep.nr_lock_chains
    calls = []
    monkeypatch.setattr(k.lockdep, "validate_chain", lambda *args: calls.append(args))
    as_task(k, "t2")
    for _ in range(3):
        take(a, b); drop(a, b)
    assert calls == [] and k.lockdep.nr_lock_chains == chains
    take(b)                         # a new chain (B alone) is validated
    assert len(calls) == 1


def test_out_of_order_release_keeps_the_stack_consistent(k):
    a, b, c = locks(k, "A", "B", "C")
    t = as_task(k, "t1")
    take(a, b)
    mutex_unlock(a)
    assert [h.instance for h in held_locks(t)] == [b]
    mutex_lock(c)
    mutex_unlock(c); mutex_unlock(b)
    assert t.lockdep_depth == 0 and t.curr_chain_key is k.lockdep.chains
    assert k.lockdep.reports == []


def test_bad_unlock_balance(k):
    (a,) = locks(k, "A")
    as_task(k, "t1")
    k.trace.lock_release(a, None)
    assert "bad unlock balance detected!" in k.lockdep.reports[0]


# -- reclaim ------------------------------------------------------------------------------

def anon_vma_lock(k):
    return rw_semaphore(k, lock_class_key("&anon_vma->rwsem"))


def might_alloc(k, gfp):
    PageAlloc.fs_reclaim_acquire(k, gfp)
    PageAlloc.fs_reclaim_release(k, gfp)


def might_alloc_2011(k, gfp):
    """What 3.0's allocators told lockdep (lockdep_trace_alloc)."""
    k.trace.lockdep_trace_alloc(gfp)


def reclaim_takes(k, sem, gfp=GFP_KERNEL):
    """Direct reclaim: fs_reclaim held, PF_MEMALLOC set, rmap walk locks."""
    PageAlloc.fs_reclaim_acquire(k, gfp)
    k.current.flags |= PF_MEMALLOC
    down_read(sem); up_read(sem)
    k.current.flags &= ~PF_MEMALLOC
    PageAlloc.fs_reclaim_release(k, gfp)


def test_gfp_kernel_under_anon_vma_lock_is_the_fs_reclaim_inversion(k):
    av = anon_vma_lock(k)
    as_task(k, "fork")
    down_write(av); might_alloc(k, GFP_KERNEL); up_write(av)
    as_task(k, "kswapd0")
    reclaim_takes(k, av)
    (text,) = k.lockdep.reports
    assert "kswapd0/3 is trying to acquire lock:\n(&anon_vma->rwsem){++++}-{3:3}" in text
    assert "but task is already holding lock:\n(fs_reclaim){+.+.}-{0:0}" in text
    assert "-> #1 (fs_reclaim){+.+.}-{0:0}:" in text
    assert "  lock(fs_reclaim);" in text


@pytest.mark.parametrize("gfp, flags", [(GFP_NOWAIT, 0), (GFP_KERNEL, PF_MEMALLOC),
                                        (GFP_KERNEL, PF_MEMALLOC_NOFS), (GFP_KERNEL & ~0x80, 0)])
def test_allocations_that_cannot_recurse_into_fs_reclaim_are_clean(k, gfp, flags):
    av = anon_vma_lock(k)
    t = as_task(k, "fork")
    t.flags |= flags
    down_write(av); might_alloc(k, gfp); up_write(av)
    as_task(k, "kswapd0")
    reclaim_takes(k, av)
    assert k.lockdep.reports == []
    assert k.lockdep.classes.get(fs_reclaim_map.key) is not None   # reclaim did take it


def test_2011_reclaim_fs_usage_bits_give_hughs_report():
    k = ToyKernel(lockdep=LockdepReclaimFs)
    av = mutex(k, lock_class_key("&anon_vma->mutex"))
    as_task(k, "fork")
    mutex_lock(av); might_alloc_2011(k, GFP_KERNEL_3_0); mutex_unlock(av)
    assert k.lockdep.reports == []
    as_task(k, "cp")
    k.trace.lockdep_reclaim_state(GFP_KERNEL_3_0)
    mutex_lock(av); mutex_unlock(av)
    k.trace.lockdep_reclaim_state(0)
    (text,) = k.lockdep.reports
    assert "[ INFO: inconsistent lock state ]" in text
    assert "inconsistent {RECLAIM_FS-ON-W} -> {IN-RECLAIM_FS-W} usage." in text
    assert "cp/3 [HC0[0]:SC0[0]:HE1:SE1] takes:\n (&anon_vma->mutex){+.+.?.}, at: " in text
    assert "{RECLAIM_FS-ON-W} state was registered at:\n       might_alloc" in text
    assert "  lock(&anon_vma->mutex);\n  <Interrupt>\n    lock(&anon_vma->mutex);" in text
    # No fs_reclaim pseudo-lock in that era.
    assert fs_reclaim_map.key not in k.lockdep.classes


def test_2011_nowait_and_trylock_in_reclaim_are_clean():
    k = ToyKernel(lockdep=LockdepReclaimFs)
    av = mutex(k, lock_class_key("&anon_vma->mutex"))
    as_task(k, "fork")
    mutex_lock(av); might_alloc_2011(k, GFP_NOWAIT_3_0); mutex_unlock(av)
    mutex_lock(av); might_alloc_2011(k, GFP_KERNEL_3_0); mutex_unlock(av)
    as_task(k, "cp")
    k.trace.lockdep_reclaim_state(GFP_KERNEL_3_0)
    assert mutex_trylock(av)        # page_lock_anon_vma's trylock fast path
    mutex_unlock(av)
    k.trace.lockdep_reclaim_state(0)
    assert k.lockdep.reports == []



def test_every_lock_stack_ends_at_a_kernel_entry():
    """A trace lockdep saves ends where the kernel's would, at the entry from
    user space, a kernel thread or the RCU softirq: never in the scenario
    interpreter that called a syscall's body (userfaultfd's ioctls, prctl,
    a thread's exit(2), execve).  Every lock acquisition's stack is looked
    at, not only the few that lockdep saves."""
    from anonvma.kernel.kernel.locking.lockdep import kernel_entry, save_trace
    from anonvma.scenario import parse
    from anonvma.session import Config, Session

    text = "\n".join((
        "P0 mmap 0 8 rw", "P0 write 0", "P0 anon_name 4 2 x", "P0 mmap 10 2 rw",
        "P0 uffd_register 10 2", "P0 uffd_move 0 1 10", "P0 fork P1", "P1 thread T1",
        "T1 write 6", "P1 exit thread", "T1 exit thread", "P0 fork P2", "P2 exec", "P2 exit",
        "P0 munmap 0 12", "P0 exit", ""))
    machine = Session(parse(text, "<entries>"), Config()).boot()
    ends = set()
    machine.kernel.trace.lock_acquire.register(
        lambda lock, subclass, trylock, read, ip: ends.add(save_trace()[-1]))
    machine.run()
    entries = {"userfaultfd_register", "userfaultfd_move", "prctl_set_vma", "sys_exit", "do_execve"}
    assert entries <= ends, entries - ends
    assert all(kernel_entry(type("code", (), {"co_name": end})) for end in ends), ends
