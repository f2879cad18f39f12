"""kernel/rcu: read sections and grace periods, under every schedule of a
few tasks (the explorer's scheduler, bounded exhaustive).  What is expected
is RCU's guarantee as Documentation/RCU/whatisRCU.rst states it: a grace
period waits for every reader that was in a read section when it began,
and for no reader that entered later."""

from __future__ import annotations

from anonvma.explore.scheduler import Scheduler
from anonvma.explore.strategies import Dfs
from anonvma.kernel import Linux
from anonvma.kernel.kernel.sched.core import TASK_UNINTERRUPTIBLE, task_struct


def every_run(body):
    """Run ``body(k, spawn, log)`` under every schedule (up to two
    preemptions) of a preempt=full kernel; yield (kernel, log) of each."""
    dfs = Dfs(max_preemptions=2)
    while dfs.new_execution():
        k = Linux()
        k.sched = Scheduler(k, dfs)
        k.sched_dynamic_update("full")
        log: list[str] = []
        tasks = {}

        def spawn(name, fn):
            t = tasks[name] = task_struct(k.alloc_pid(), name)
            k.sched.spawn(t, fn)
            return t

        body(k, spawn, log, tasks)
        k.sched.run()
        yield k, log


def blocked_in_synchronize_rcu(k, task) -> bool:
    return task.state == TASK_UNINTERRUPTIBLE and task.blocked_on is k.rcu_state


def test_synchronize_rcu_waits_for_the_readers_it_found_and_no_others():
    def body(k, spawn, log, tasks):
        def old_reader():
            k.rcu_read_lock()
            log.append("old in")
            k.preempt_schedule_irq()        # preempted inside its read section
            log.append("old out")
            k.rcu_read_unlock()

        def updater():
            k.sched.wait_for(log, lambda: "old in" in log)
            k.synchronize_rcu()
            log.append("gp done")

        def new_reader():
            # enters once the grace period has begun, and stays in its read
            # section until the grace period is over: a grace period that
            # waited for it would never end (a hung task)
            k.sched.wait_for(log, lambda: blocked_in_synchronize_rcu(k, tasks["updater"])
                             or "gp done" in log)
            if "gp done" in log:
                return              # the old reader was quicker: no wait to join
            k.rcu_read_lock()
            log.append("new in")
            k.sched.wait_for(log, lambda: "gp done" in log)
            k.rcu_read_unlock()

        spawn("old", old_reader)
        spawn("updater", updater)
        spawn("new", new_reader)

    joined = 0
    for _k, log in every_run(body):
        assert log.index("old out") < log.index("gp done")
        if "new in" in log:
            joined += 1
            assert log.index("new in") < log.index("gp done")
    assert joined > 0


def test_call_rcu_runs_its_callback_after_the_readers_it_found_leave():
    def body(k, spawn, log, tasks):
        def reader():
            k.rcu_read_lock()
            log.append("reader in")
            k.preempt_schedule_irq()
            log.append("reader out")
            k.rcu_read_unlock()

        def updater():
            k.sched.wait_for(log, lambda: "reader in" in log)
            k.call_rcu("head", lambda head: log.append(f"callback {head}"))
            log.append("call_rcu returned")

        spawn("reader", reader)
        spawn("updater", updater)

    ran_at_unlock = 0
    for k, log in every_run(body):
        if "callback head" not in log:
            # the reader left before call_rcu(): the grace period is over,
            # the callback waits for the softirq
            assert log.index("reader out") < log.index("call_rcu returned")
            k.current = k.spawn_init("init")
            k.rcu_barrier()
        else:
            ran_at_unlock += 1
        assert log.index("reader out") < log.index("callback head")
        assert log.index("call_rcu returned") < log.index("callback head")
        assert k.rcu_state.cblist == [] and k.rcu_state.readers == {}
    assert ran_at_unlock > 0


def test_nested_sections_end_at_the_outermost_unlock():
    k = Linux()
    k.current = k.spawn_init("init")
    seen = []
    k.rcu_read_lock()
    k.rcu_read_lock()
    k.call_rcu(None, lambda _head: seen.append("gp"))
    k.rcu_read_unlock()
    assert seen == [] and k.rcu_read_lock_held()
    k.rcu_read_unlock()
    assert seen == ["gp"] and not k.rcu_read_lock_held()
    # no reader: the grace period is over, the callback runs at the next
    # softirq, never inside call_rcu()
    k.call_rcu(None, lambda _head: seen.append("next"))
    assert seen == ["gp"]
    k.rcu_read_lock()
    k.rcu_read_unlock()
    assert seen == ["gp", "next"]


def test_synchronize_rcu_inside_a_read_section_warns_instead_of_waiting_for_itself():
    k = Linux()
    k.current = k.spawn_init("init")
    reports = []
    k.trace.report.register(lambda kind, text: reports.append(text))
    k.rcu_read_lock()
    k.synchronize_rcu()
    k.rcu_read_unlock()
    assert reports == ["WARNING: Illegal synchronize_rcu() in RCU read-side critical section"]
