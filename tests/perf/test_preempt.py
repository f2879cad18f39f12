"""The preemption model (``--preempt``): under CONFIG_PREEMPT a wakeup
preempts a mutex holder inside its section, and the mutex stays held while
its owner waits for the CPU (kernel/mutex.c has no preempt_disable() around
the section); a spinlock holder is never preempted (spin_lock() is
preempt_disable() first).  Under CONFIG_PREEMPT_VOLUNTARY the holder runs on
to its next might_resched(), which a section without an allocation does not
have.  And the exim clients as tasks: each message waits for its client's
work."""

from __future__ import annotations

import json

import pytest

from anonvma.cli import main
from anonvma.kernel.kernel.locking.lock import lock_class_key
from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_unlock
from anonvma.kernel.kernel.locking.spinlock import spin_lock, spin_unlock, spinlock_t
from anonvma.kernel.kernel.sched.core import task_struct
from anonvma.perf import run_workload
from anonvma.perf.costs import load_costs
from anonvma.perf.locks import LockTiming, lock_semantics
from anonvma.perf.sched import VirtualTimeScheduler
from anonvma.variants import get_variant

US = 1000.0
HOLD = 10 * US          # the owner's section
INTRUDER = 50 * US      # the woken task's run on the owner's CPU


def race(variant: str, preempt: str, rcu_run_ns: float = 0):
    """O takes the anon_vma lock on CPU 0 and holds it ``HOLD``; S comes to it
    from CPU 1 at 1 us, while O runs; Q waits for CPU 0, and its wakeup sets
    O's need_resched once O holds the lock.  With ``rcu_run_ns`` CPU 0's RCU
    kthread wakes at 5 us instead, and Q is not woken.  The times each event
    happened."""
    cls = get_variant(variant)
    kernel = cls()
    kernel.spawn_init("P0")
    costs = load_costs()
    costs["jitter"] = 0
    if rcu_run_ns:
        costs["sched"]["rcu_kthread"].update(period_ns=1e9, run_ns=rcu_run_ns)
    sched = VirtualTimeScheduler(kernel, costs, 2, preempt=preempt)
    if rcu_run_ns:
        sched.cpus[0].rcu_next, sched.cpus[1].rcu_next = 5 * US, float("inf")
    LockTiming(kernel, sched, lock_semantics(cls))
    kernel.sched = sched
    if lock_semantics(cls) == "ticket":
        lock, take, drop = spinlock_t(kernel, kernel.anon_vma_lock_key), spin_lock, spin_unlock
    else:
        lock, take, drop = mutex(kernel, kernel.anon_vma_mutex_key), mutex_lock, mutex_unlock
    t: dict = {}

    def body(name, arrive):
        sched.charge(kernel.current, arrive, "user")
        t[name + " arrives"] = sched.clock[kernel.current]
        take(lock)
        t[name + " takes"] = sched.clock[kernel.current]
        if name == "O" and not rcu_run_ns:
            sched.cpus[0].resched = True    # Q's wakeup, while O is in its section
        sched.charge(kernel.current, HOLD, "user")
        sched.preempt_point()           # the end of an operation in the section
        drop(lock)
        t[name + " drops"] = sched.clock[kernel.current]

    def intruder():
        t["Q runs"] = sched.clock[kernel.current]
        sched.charge(kernel.current, INTRUDER, "user")
        t["Q done"] = sched.clock[kernel.current]

    for name, fn, args in (("O", body, ("O", 0)), ("S", body, ("S", 1 * US)),
                           ("Q", intruder, ())):
        sched.spawn(task_struct(kernel.alloc_pid(), name), fn, *args)
    assert sched.cpus[0].rq and sched.cpus[0].rq[0].comm == "Q"
    sched.run()
    return t, sched


def test_full_preemption_preempts_a_mutex_holder_which_keeps_the_lock():
    t, sched = race("v3.0-rc1", "full")
    # O is preempted in its section, before mutex_unlock() released
    # anything: Q runs on CPU 0 while O still owns the mutex ...
    assert t["O takes"] + HOLD <= t["Q runs"] < t["O drops"]
    assert t["O drops"] >= t["Q done"]
    # ... so S, which spun on a running owner, saw it leave the CPU and
    # slept: it gets the mutex only from O's unlock, after Q's whole run,
    # and a wakeup later (try_to_wake_up, ready wakeup_ns after).
    assert t["S takes"] >= t["O drops"] + sched.costs["sched"]["wakeup_ns"]
    # what S burnt spinning is the part of O's section before O left CPU 0
    assert sched.cpu_time["__mutex_lock_common"] < t["Q runs"] - t["S arrives"] + 1 * US


def test_voluntary_preemption_lets_the_mutex_holder_finish_its_section():
    t, sched = race("v3.0-rc1", "voluntary")
    # no might_resched() in the section: O unlocks first, and S, spinning
    # on the running owner, has the mutex a line transfer after that
    assert t["O drops"] <= t["Q runs"]
    assert t["O drops"] <= t["S takes"] < t["O takes"] + HOLD + 2 * US


@pytest.mark.parametrize("preempt", ["voluntary", "full"])
def test_a_spinlock_holder_is_never_preempted(preempt):
    t, sched = race("v2.6.39", preempt)
    # spin_lock() disabled preemption: O finishes its section, and S, which
    # spun all along (its CPU had no wakeup), follows at once
    assert t["O drops"] <= t["Q runs"]
    assert t["O drops"] <= t["S takes"] < t["O takes"] + HOLD + 2 * US
    assert sched.cpu_time["do_raw_spin_lock"] >= t["O takes"] + HOLD - t["S arrives"]


def test_exim_clients_pace_the_messages():
    """With client tasks each message waits for its client's work, so no
    connection finishes before its client has worked for every message."""
    costs = load_costs()
    client_ns = 300 * US
    costs["workloads"]["exim"].update(messages=3, vmas=4, client_ns=client_ns)
    costs["jitter"] = 0
    r = run_workload("exim", "v3.0", 2, costs, preempt="full")
    assert r.units == 2 * 3
    assert r.makespan_ns >= 3 * client_ns
    # the clients' work is user time of their own, beside the connections'
    # receive and the deliveries' work
    p = costs["workloads"]["exim"]
    assert r.cpu_time["user"] == pytest.approx(
        2 * 3 * (client_ns + p["receive_ns"] + p["deliver_ns"]))


def test_perf_command_takes_the_preemption_model(tmp_path, capsys):
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"workloads": {"exim": {"messages": 1, "vmas": 2}}}))
    assert main(["perf", "exim", "--variant", "v3.0", "--cpus", "2", "--json",
                 "--preempt", "full", "--costs", str(costs)]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["preempt"] == "full"
    with pytest.raises(SystemExit):
        main(["perf", "exim", "--preempt", "none"])
    assert "invalid choice: 'none'" in capsys.readouterr().err


def test_rcu_kthread_preempts_a_mutex_holder_only_under_full_preemption():
    """3.0-rc1's rcuc kthread (SCHED_FIFO) wakes on CPU 0 in O's section:
    under CONFIG_PREEMPT it runs at once and O keeps the mutex meanwhile;
    under voluntary preemption O first finishes its section."""
    run = 30 * US
    t, sched = race("v3.0-rc1", "full", rcu_run_ns=run)
    assert t["O drops"] - t["O takes"] >= HOLD + run
    assert sched.cpu_time["rcu_cpu_kthread"] == run
    # S spun on a running owner until the kthread took O's CPU, then slept
    assert t["S takes"] >= t["O drops"] + sched.costs["sched"]["wakeup_ns"]
    t, sched = race("v3.0-rc1", "voluntary", rcu_run_ns=run)
    assert t["O drops"] - t["O takes"] < HOLD + 2 * US
    assert t["S takes"] < t["O drops"] + 2 * US


def test_rcu_kthreads_are_the_3_0_rc_kernels():
    """a26ac2455ffc moved RCU callbacks to kthreads for 3.0-rc1; 2.6.39 ran
    them in softirq, and 3.0 did again."""
    from anonvma.perf import rcu_callbacks_in_kthreads
    assert [rcu_callbacks_in_kthreads(get_variant(v)) for v in
            ("v2.6.39", "v3.0-rc1", "v3.0-rc2-clone", "v3.0-rc2", "v3.0", "v3.7", "v3.8")] == \
        [False, True, True, True, False, False, False]


def test_a_spinlock_nested_in_a_mutex_section_defers_the_preemption():
    """Under CONFIG_PREEMPT a mutex holder that takes a spinlock inside its
    section is not preemptible until spin_unlock() (preempt_count), and is
    preempted at the next point after it, still holding the mutex."""
    cls = get_variant("v3.0-rc1")
    kernel = cls()
    kernel.spawn_init("P0")
    costs = load_costs()
    costs["jitter"] = 0
    sched = VirtualTimeScheduler(kernel, costs, 1, preempt="full")
    LockTiming(kernel, sched, lock_semantics(cls))
    kernel.sched = sched
    m = mutex(kernel, kernel.anon_vma_mutex_key)
    inner = spinlock_t(kernel, lock_class_key("&mm->page_table_lock"))
    t: dict = {}

    def owner():
        mutex_lock(m)
        spin_lock(inner)
        sched.cpus[0].resched = True        # Q's wakeup, under the spinlock
        sched.charge(kernel.current, HOLD, "user")
        sched.preempt_point()               # preempt_count 1: no preemption
        t["spinlock section done"] = sched.clock[kernel.current]
        spin_unlock(inner)
        sched.preempt_point()               # preemptible again: Q runs now
        t["back"] = sched.clock[kernel.current]
        mutex_unlock(m)

    def intruder():
        t["Q runs"] = sched.clock[kernel.current]
        t["mutex owner while Q runs"] = m.owner
        sched.charge(kernel.current, INTRUDER, "user")

    o = task_struct(kernel.alloc_pid(), "O")
    sched.spawn(o, owner)
    sched.spawn(task_struct(kernel.alloc_pid(), "Q"), intruder)
    sched.run()
    assert t["spinlock section done"] <= t["Q runs"]
    assert t["mutex owner while Q runs"] is o
    assert t["back"] >= t["Q runs"] + INTRUDER
