"""The anon_vma lock's timing per era, on hand-placed tasks: the orders the
kernels' lock code gives (2.6.39 arch/x86 ticket spinlocks, 3.0
kernel/mutex.c + kernel/sched.c:mutex_spin_on_owner, 3.8 lib/rwsem.c's
__rwsem_do_wake handing the lock to the first waiter, 3.9's ce6711f3d196
rwsem_try_write_lock stealing it)."""

from __future__ import annotations

import pytest

from anonvma.kernel.kernel.locking.mutex import mutex, mutex_is_locked, mutex_lock, mutex_unlock
from anonvma.kernel.kernel.locking.rwsem import down_write, rw_semaphore, up_write
from anonvma.perf.locks import lock_semantics
from anonvma.variants import get_variant

from lock_timing import US, machine, mutex_body, spawn, spin_order

def test_semantics_follow_the_eras():
    assert [lock_semantics(get_variant(v)) for v in
            ("v2.6.39", "v3.0-rc1", "v3.0", "v3.7", "v3.8", "v3.9", "v6.18")] == \
        ["ticket", "mutex", "mutex", "mutex", "rwsem-handoff", "rwsem-steal", "rwsem-spin"]


def test_ticket_spinlock_serves_waiters_in_arrival_order():
    kernel, sched, timing = machine("v2.6.39", 4)
    # pids in one order, arrivals in another
    order = spin_order(kernel, sched, (("O", 0, 20 * US), ("A", 3 * US, 1 * US),
                                       ("B", 1 * US, 1 * US), ("C", 2 * US, 1 * US)))
    assert order == ["O", "B", "C", "A"]
    assert timing.stat.contentions == 3
    # the waiters spun: their whole wait is CPU time in do_raw_spin_lock
    assert sched.cpu_time["do_raw_spin_lock"] >= (19 + 18 + 17) * US


def test_mutex_spinner_overtakes_a_sleeper():
    kernel, sched, _timing = machine("v3.0-rc1", 3)
    lock = mutex(kernel, kernel.anon_vma_mutex_key)
    order, arrivals = [], {}

    def body(name, arrive, hold):
        sched.charge(kernel.current, arrive, "user")
        arrivals[name] = sched.clock[kernel.current]
        mutex_lock(lock)
        order.append(name)
        sched.charge(kernel.current, hold, "user")
        mutex_unlock(lock)

    def other():
        sched.charge(kernel.current, 100 * US, "user")

    spawn(kernel, sched, "S", body, "S", 1 * US, 10 * US)      # CPU 0
    spawn(kernel, sched, "O", body, "O", 0, 20 * US)           # CPU 1
    spawn(kernel, sched, "C", body, "C", 5 * US, 10 * US)      # CPU 2
    spawn(kernel, sched, "Q", other)                           # queued on CPU 0
    sched.cpus[0].resched = True                               # ... by a wakeup
    sched.run()
    # S came first but a wakeup had set its need_resched: it slept, and
    # C, spinning on the running owner, took the mutex when O let go.
    assert arrivals["S"] < arrivals["C"]
    assert order == ["O", "C", "S"]
    assert sched.cpu_time["__mutex_lock_common"] > 0


def test_mutex_unlock_with_a_sleeper_holds_wait_lock_across_the_wakeup():
    """3.0 __mutex_unlock_common_slowpath: with a waiter on the list the
    count becomes 1 only under wait_lock, which the unlocker keeps across
    wake_up_process(); the next unlock cannot release the mutex before that
    wakeup is done, and the spinner waiting for it spins meanwhile."""
    kernel, sched, _timing = machine("v3.0-rc1", 4)
    lock = mutex(kernel, kernel.anon_vma_mutex_key)
    got, released = {}, {}
    body = mutex_body(kernel, sched, lock, got, released)
    spawn(kernel, sched, "S", body, "S", 1 * US, 1 * US)       # CPU 0: sleeps
    spawn(kernel, sched, "O", body, "O", 0, 20 * US)           # CPU 1
    spawn(kernel, sched, "C", body, "C", 5 * US, 0.05 * US)    # CPU 2: spins
    spawn(kernel, sched, "D", body, "D", 6 * US, 1 * US)       # CPU 3: spins
    spawn(kernel, sched, "Q", lambda: sched.charge(kernel.current, 100 * US, "user"))
    sched.cpus[0].resched = True
    sched.run()
    wake_ns = sched.costs["lock"]["wake_ns"]
    # either spinner may win; the other spins on the winner and gets
    # the mutex only after O's wakeup of S has let go of wait_lock
    first, second = sorted(("C", "D"), key=got.get)
    assert got[first] >= released["O"]
    assert got[second] >= got["O"] + 20 * US + wake_ns
    assert got["S"] > got[second]
    assert sched.cpu_time["__mutex_lock_common"] >= got[second] - released["O"]


def rwsem_order(variant: str) -> list[str]:
    kernel, sched, _timing = machine(variant, 2)
    sem = rw_semaphore(kernel, kernel.anon_vma_rwsem_key)
    order = []

    def owner():
        down_write(sem)
        order.append("O")
        sched.charge(kernel.current, 10 * US, "user")
        up_write(sem)
        sched.charge(kernel.current, 1 * US, "user")
        down_write(sem)                 # back before the woken waiter runs
        order.append("O")
        sched.charge(kernel.current, 10 * US, "user")
        up_write(sem)

    def waiter():
        sched.charge(kernel.current, 1 * US, "user")
        down_write(sem)
        order.append("W")
        sched.charge(kernel.current, 1 * US, "user")
        up_write(sem)

    spawn(kernel, sched, "O", owner)
    spawn(kernel, sched, "W", waiter)
    sched.run()
    return order


def test_rwsem_hands_off_in_fifo_order_without_lock_stealing():
    assert rwsem_order("v3.8") == ["O", "W", "O"]


def test_rwsem_writer_steals_the_lock_from_a_woken_waiter():
    assert rwsem_order("v3.9") == ["O", "O", "W"]


@pytest.mark.parametrize("timed", [True, False])
def test_mutex_is_locked_answers_at_the_callers_virtual_time(timed):
    """3.0's anon_vma_free() tests mutex_is_locked(root) right after the
    caller's own unlock: a task whose clock is earlier than the caller's
    and which took the root in between has it locked by then, though the
    caller ran on to the test without a scheduling point.  The kernel model
    alone (no timing layer answering lock_is_locked) reads its own lock,
    which the other task has not reached yet."""
    kernel, sched, timing = machine("v3.0", 2)
    if not timed:
        kernel.trace.lock_is_locked.probes = ()     # lock.is_locked_in_virtual_time 0
    lock = mutex(kernel, kernel.anon_vma_mutex_key)
    seen = {}

    def first():
        mutex_lock(lock)
        sched.charge(kernel.current, 1 * US, "user")
        mutex_unlock(lock)
        sched.charge(kernel.current, 5 * US, "user")     # no scheduling point
        seen["held"] = mutex_is_locked(lock)

    def second():
        sched.charge(kernel.current, 3 * US, "user")     # after the unlock
        mutex_lock(lock)
        sched.charge(kernel.current, 10 * US, "user")
        mutex_unlock(lock)

    spawn(kernel, sched, "A", first)
    spawn(kernel, sched, "B", second)
    sched.run()
    assert seen == {"held": timed}
