"""The anon_vma lock's timing in a kernel built with CONFIG_DEBUG_SPINLOCK
and CONFIG_DEBUG_MUTEXES (``--debug-locks``), from the 3.0 sources:
kernel/mutex.c with kernel/mutex-debug.h and asm-generic/mutex-null.h (no
fast path; MUTEX_SPIN_ON_OWNER is ``SMP && !DEBUG_MUTEXES`` in
kernel/Kconfig.locks, so no optimistic spinning; lock and unlock both take
``wait_lock``), lib/spinlock_debug.c (do_raw_spin_lock() loops on
arch_spin_trylock(): a test-and-set lock)."""

from __future__ import annotations

from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_unlock
from anonvma.perf import run_workload
from anonvma.perf.costs import load_costs
from anonvma.perf.locks import lock_semantics
from anonvma.variants import get_variant

from lock_timing import US, machine, mutex_body, spawn, spin_order


def test_debug_locks_change_the_spinlock_and_the_mutex_not_the_rwsem():
    assert [lock_semantics(get_variant(v), True) for v in
            ("v2.6.39", "v3.0-rc1", "v3.0", "v3.7", "v3.8", "v3.9")] == \
        ["spinlock-debug", "mutex-debug", "mutex-debug", "mutex-debug", "rwsem-handoff",
         "rwsem-steal"]


def test_debug_mutex_waiter_sleeps_though_the_owner_runs():
    """No mutex_spin_on_owner() under DEBUG_MUTEXES: a waiter whose owner
    runs on another CPU, and whose own CPU has nothing else to run, sleeps
    at once and is woken by the unlock; without debug it would spin."""
    kernel, sched, _timing = machine("v3.0-rc1", 2, debug_locks=True)
    lock = mutex(kernel, kernel.anon_vma_mutex_key)
    got, released = {}, {}
    body = mutex_body(kernel, sched, lock, got, released)
    spawn(kernel, sched, "O", body, "O", 0, 20 * US)        # CPU 0
    spawn(kernel, sched, "C", body, "C", 5 * US, 1 * US)    # CPU 1
    sched.run()
    assert got["C"] >= released["O"] + sched.costs["sched"]["wakeup_ns"]
    # C's waiting was off its CPU: __mutex_lock_common has only the two
    # tasks' wait_lock holds and C's way to sleep, far below the 15 us wait
    assert sched.cpu_time["__mutex_lock_common"] < 2 * US
    assert sched.cpu_time["try_to_wake_up"] > 0


def test_every_debug_mutex_lock_and_unlock_takes_wait_lock():
    """mutex-null.h: __mutex_fastpath_lock/unlock call the slow path
    always; an uncontended lock and unlock each hold wait_lock for their
    list and count work and the debug checks, and nothing is a fast path."""
    kernel, sched, _timing = machine("v3.0-rc1", 1, debug_locks=True)
    lock = mutex(kernel, kernel.anon_vma_mutex_key)
    rounds = 5

    def body(_name):
        for _ in range(rounds):
            mutex_lock(lock)
            mutex_unlock(lock)

    spawn(kernel, sched, "A", body, "A")
    sched.run()
    c = sched.costs["lock"]
    hold = c["fast_ns"] + c["wait_lock_ns"] + c["debug_mutex_ns"]
    assert sched.cpu_time["__mutex_lock_common"] == rounds * hold
    assert sched.cpu_time["__mutex_unlock_slowpath"] == rounds * hold
    assert not sched.cpu_time.get("lock_fastpath")
    assert not sched.cpu_time.get("try_to_wake_up")   # no waiter, no wakeup


def test_woken_debug_mutex_waiter_that_lost_the_count_sleeps_again():
    """__mutex_unlock_common_slowpath() sets the count to 1 and wakes the
    first waiter; a newcomer that takes wait_lock before the woken waiter
    is back gets the mutex (atomic_xchg(&lock->count, -1) == 1), and the
    waiter, still first on the list, finds -1 and sleeps again until the
    newcomer's unlock wakes it a second time."""
    kernel, sched, timing = machine("v3.0-rc1", 3, debug_locks=True)
    lock = mutex(kernel, kernel.anon_vma_mutex_key)
    got, released = {}, {}
    body = mutex_body(kernel, sched, lock, got, released)
    spawn(kernel, sched, "S", body, "S", 1 * US, 1 * US)     # CPU 0: sleeps
    spawn(kernel, sched, "O", body, "O", 0, 20 * US)         # CPU 1
    spawn(kernel, sched, "N", body, "N", 21 * US, 30 * US)   # CPU 2: after O's unlock
    sched.run()
    wakeup = sched.costs["sched"]["wakeup_ns"]
    assert sorted(got, key=got.get) == ["O", "N", "S"]
    # N came after O's unlock but before S, woken by it, was back
    assert released["O"] < got["N"] < released["O"] + wakeup
    assert got["S"] >= released["N"] + wakeup
    # two wakeups of S, one per unlock that found it asleep first on the list
    assert sched.cpu_time["try_to_wake_up"] == 2 * sched.costs["lock"]["wake_ns"]
    assert timing.stat.contentions == 1


def debug_spin_order(debug_locks: bool) -> tuple[list, dict]:
    # two CPUs a socket: O on CPU 0 and B on CPU 1 share socket 0, A's CPU 2
    # is one hop away
    kernel, sched, _timing = machine("v2.6.39", 3, debug_locks, cores_per_socket=2)
    order = spin_order(kernel, sched, (("O", 0, 20 * US), ("B", 2 * US, 1 * US),
                                       ("A", 1 * US, 1 * US)))
    return order, sched.cpu_time


def test_debug_spinlock_grants_no_fifo_order():
    """The ticket lock serves A, which came first; the debug spinlock's
    arch_spin_trylock() loop goes to whichever spinner's cmpxchg gets the
    line first after the release, here B, on the releaser's socket."""
    ticket, _ = debug_spin_order(False)
    debug, cpu_time = debug_spin_order(True)
    assert ticket == ["O", "A", "B"]
    assert debug == ["O", "B", "A"]
    # both spun the whole wait on their CPUs, in do_raw_spin_lock
    assert cpu_time["do_raw_spin_lock"] >= (18 + 19 + 1) * US


def test_exim_runs_with_debug_locks():
    costs = load_costs()
    costs["workloads"]["exim"].update(messages=2, vmas=4)
    for variant, semantics, symbol in (("v2.6.39", "spinlock-debug", "do_raw_spin_lock"),
                                       ("v3.0-rc1", "mutex-debug", "__mutex_unlock_slowpath")):
        r = run_workload("exim", variant, 4, costs, debug_locks=True)
        assert r.semantics == semantics and r.debug_locks
        assert r.cpu_time[symbol] > 0
        # every anon_vma root acquisition went through the debug lock code
        assert not r.cpu_time.get("lock_fastpath")
