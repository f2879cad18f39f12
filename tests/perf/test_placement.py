"""Where the virtual-time scheduler puts a woken or new task: 3.0's
select_task_rq_fair() (kernel/sched_fair.c) on a 4-socket machine of 10
cores a socket, MC (the socket, SD_SHARE_PKG_RESOURCES) and NODE (the
machine) domains, imbalance_pct 125.  The expected CPUs are worked out from
that code: wake_affine()'s load test, select_idle_sibling()'s search of the
target's socket in CPU order, find_idlest_group()/find_idlest_cpu() for a
fork."""

from __future__ import annotations

import pytest

from anonvma.perf.costs import load_costs
from anonvma.perf.sched import VirtualTimeScheduler
from anonvma.variants import get_variant


class T:
    """A task stand-in: the placement reads only which CPU it is on."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


@pytest.fixture
def sched():
    kernel = get_variant("v3.0")()
    costs = load_costs()
    costs["sched"]["placement"] = "select_task_rq_fair"
    return VirtualTimeScheduler(kernel, costs, 40)


def run(sched, cpu: int, name: str = "busy") -> T:
    task = T(f"{name}{cpu}")
    sched.cpus[cpu].curr = task
    sched.cpu_of[task] = sched.cpus[cpu]
    return task


def asleep(sched, prev_cpu: int) -> T:
    """A task that last ran on ``prev_cpu`` and sleeps (off every CPU)."""
    task = T("sleeper")
    sched.cpu_of[task] = sched.cpus[prev_cpu]
    return task


def test_a_woken_task_whose_previous_cpu_is_idle_runs_there(sched):
    waker = run(sched, 25, "waker")            # socket 2, alone on its CPU
    wakee = asleep(sched, 12)                  # socket 1, CPU 12 idle
    # wake_affine(): the waker's CPU with the wakee (2 tasks) is busier than
    # the idle CPU 12 by more than imbalance_pct/2: not affine; CPU 12 idle
    assert sched.select_wake_cpu(wakee, waker, sync=False) is sched.cpus[12]


def test_with_its_previous_cpu_busy_a_woken_task_takes_an_idle_cpu_of_that_socket(sched):
    waker = run(sched, 25, "waker")
    wakee = asleep(sched, 12)
    for cpu in range(40):
        if cpu not in (0, 15, 17, 25, 35):
            run(sched, cpu)
    # CPU 0 (socket 0) and CPU 35 (socket 3) are idle too, but only the
    # target's last-level cache is searched, in CPU order
    assert sched.select_wake_cpu(wakee, waker, sync=False) is sched.cpus[15]


def test_with_its_socket_busy_a_woken_task_queues_on_its_previous_cpu(sched):
    waker = run(sched, 25, "waker")
    wakee = asleep(sched, 12)
    for cpu in range(10, 20):
        run(sched, cpu)
    # the other sockets' idle CPUs are not searched: the target's run queue
    assert sched.select_wake_cpu(wakee, waker, sync=False) is sched.cpus[12]
    sched.enqueue(wakee, 0.0, woken=True, waker=waker)
    assert sched.cpus[12].rq == [wakee] and sched.cpus[12].resched


def test_a_sync_wakeup_pulls_the_wakee_to_the_wakers_socket(sched):
    # exit_notify()'s wakeup of the parent from the exiting child's CPU: the
    # child about to sleep leaves its CPU's load 0, so wake_affine() holds,
    # the target is the child's (busy) CPU and its socket is searched
    child = run(sched, 25, "child")
    parent = asleep(sched, 3)                  # its CPU idle, in socket 0
    run(sched, 20)
    assert sched.select_wake_cpu(parent, child, sync=True) is sched.cpus[21]
    # not sync: the child's CPU counts its task, no pull, CPU 3 is idle
    assert sched.select_wake_cpu(parent, child, sync=False) is sched.cpus[3]


def test_a_waker_on_a_busier_cpu_than_the_wakees_previous_one_does_not_pull(sched):
    waker = run(sched, 5, "waker")
    sched.cpus[5].rq.append(T("queued"))       # the waker's CPU: 2 tasks
    wakee = asleep(sched, 7)
    run(sched, 7)                              # the previous CPU: 1 task
    for cpu in range(10):
        if cpu not in (5, 7):
            run(sched, cpu)
    assert not sched.wake_affine(sched.cpus[5], sched.cpus[7], sync=False)
    assert sched.select_wake_cpu(wakee, waker, sync=False) is sched.cpus[7]


def test_a_fork_goes_to_an_idle_cpu_of_the_idlest_socket(sched):
    parent = run(sched, 3, "parent")
    for cpu in (1, 2):
        run(sched, cpu)
    # NODE: the parent's socket (3 tasks) against idle sockets: socket 1,
    # the first after the local one in the ring; its idlest CPU, 10; then at
    # MC an idle CPU ties with CPU 10's zero load and the first other group
    # in the ring, CPU 11, is taken
    task = T("child")
    cpu = sched.select_cpu(task, parent, woken=False, sync=False)
    assert cpu is sched.cpus[11] and cpu.curr is None


def test_a_fork_stays_in_the_parents_socket_when_the_sockets_are_balanced(sched):
    parent = run(sched, 3, "parent")
    for cpu in (10, 20, 30):
        run(sched, cpu)
    # every socket has one task: no imbalance at NODE; at MC the parent's
    # CPU is busier than the idle ones, the first of them after it in the ring
    cpu = sched.select_cpu(T("child"), parent, woken=False, sync=False)
    assert cpu is sched.cpus[4]


def test_a_fork_with_every_cpu_busy_queues_behind_its_parent(sched):
    for cpu in range(40):
        run(sched, cpu)
    parent = sched.cpus[3].curr
    child = T("child")
    # one task everywhere: no group is idler by imbalance_pct/2
    assert sched.select_cpu(child, parent, woken=False, sync=False) is sched.cpus[3]
    sched.enqueue(child, 0.0, waker=parent)
    assert sched.cpus[3].rq == [child] and not sched.cpus[3].resched
