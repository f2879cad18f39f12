"""Virtual time on N simulated CPUs: the explorer's scheduler, with an
earliest-virtual-time strategy.

Every task has a clock (ns).  It advances only when the cost model charges
the task for something its kernel code did (``charge``), or when the task
waits: for a lock (``locks.py``), for a CPU, for a child (``wait4``).  At
every scheduling point the task with the earliest clock runs next, so the
kernel model's events happen in virtual-time order wherever they can
interact: the anon_vma lock's probes yield before they decide anything.

CPUs: a task runs on one CPU at a time; a CPU runs one task at a time and
keeps a FIFO run queue (``cpu.rq``).  A new or woken task goes to the CPU
idle longest, else the shortest run queue (costs ``sched.placement``
"idle-longest", the default), or where 3.0's select_task_rq_fair() puts it
("select_task_rq_fair", ``select_cpu``): a woken task to the CPU it last
ran on, or to the waker's where wake_affine() allows, if that is idle,
else to the first idle CPU of that CPU's socket, else to its run queue; a
new one to the idlest CPU of the idlest socket (find_idlest_group/
find_idlest_cpu).  A woken task sets that CPU's task's need_resched (CFS's wakeup
preemption: the sleeper's vruntime is behind), as does a used-up slice with
a task waiting: a 3.0 mutex spinner stops spinning then.  At a voluntary preemption point (``cond_resched``,
``might_sleep``) a task whose slice is used up, or whose CPU a wakeup
preempts, gives its CPU to the head of the run queue, unless it holds a
spinlock (spin_lock() disables preemption).  A mutex or rwsem holder is
preempted like any task, and keeps the lock while it waits for its CPU.
Where that can happen is the preemption model (``PREEMPT_MODELS``, the
kernel's Kconfig choice): under ``voluntary`` (CONFIG_PREEMPT_VOLUNTARY)
only at those points (might_sleep() is might_resched(), and a GFP_KERNEL
allocation under the lock calls it); under ``full`` (CONFIG_PREEMPT) also
at every ``preempt_point``: the end of each operation the cost model
charges and of each anon_vma lock's critical section, where the kernel
would return from the resched IPI or timer interrupt into preemptible code
(preempt_schedule_irq) with the lock still held.  On the 3.0-rc kernels a
per-CPU RCU callback kthread (``rcu_kthread``, off by default) takes the CPU
at the task's first such point past each of its wakeups.  Sleeping (a mutex or rwsem
waiter, ``wait4``) frees the CPU; spinning keeps it.  CPUs are numbered socket by socket (``topology``).
An idle CPU that gets a task first pays the exit latency of the C-state
its cpuidle governor chose (``cpuidle.py``, costs ``sched.governor``).

A seeded ``random.Random`` draws the ±``jitter`` of every charge and the
kernel's modelled random choices, so the same seed gives the same timeline
(``timeline``), event for event.
"""

from __future__ import annotations

import random
from collections import defaultdict

import greenlet

from ..explore.scheduler import Scheduler, _idle, ret_from_fork
from ..kernel.kernel.sched.core import TASK_DEAD
from .costs import CHOICES
from .cpuidle import menu_device, menu_exit_ns, oracle_exit_ns


class cpu_struct:
    """One simulated CPU (the kernel's struct rq, in short)."""

    __slots__ = ("cpu", "socket", "curr", "rq", "idle_since", "resched", "rcu_next",
                 "rcu_until", "menu", "load_at", "tick_load")

    def __init__(self, cpu: int, socket: int):
        self.cpu = cpu
        self.socket = socket
        self.curr = None                # the task on this CPU
        self.rq: list = []              # tasks waiting for it, FIFO
        self.idle_since = 0.0           # virtual time it went idle
        self.resched = False            # TIF_NEED_RESCHED of its task: a wakeup preempts
        self.rcu_next = float("inf")    # the next wakeup of its rcuc kthread
        self.rcu_until = 0.0            # its task is off the CPU until then
        self.menu = menu_device()       # the menu governor's history (cpuidle.py)
        self.load_at = 0.0              # when its number of tasks last changed
        self.tick_load = 0              # its number of tasks at its last tick (cpu_load[0])


class EarliestVirtualTime:
    """The strategy: the runnable task with the earliest clock, ties to the
    lower pid.  Deterministic; its own randomness is the scheduler's."""

    def __init__(self, sched: VirtualTimeScheduler):
        self.sched = sched

    def next_task(self, runnable, current, is_yielding):
        clock = self.sched.clock
        return min(runnable, key=lambda t: (clock[t], t.pid))

    def choose(self, n: int) -> int:
        return self.sched.rng.randrange(n)


# The kernel's preemption models the timing layer knows: where a task whose
# need_resched is set gives up its CPU.
PREEMPT_MODELS = ("voluntary", "full")

# Where a new or woken task goes (costs "sched.placement").
PLACEMENTS = CHOICES["sched.placement"]


class VirtualTimeScheduler(Scheduler):

    def __init__(self, kernel, costs, nr_cpus: int, seed: int = 0,
                 preempt: str = "voluntary", rcu_kthreads: bool = True):
        if preempt not in PREEMPT_MODELS:
            raise ValueError(f"preemption model {preempt!r}: one of {', '.join(PREEMPT_MODELS)}")
        self.preempt = preempt
        self.rng = random.Random(seed)
        super().__init__(kernel, EarliestVirtualTime(self))
        self.costs = costs
        per_socket = max(1, costs["topology"]["cores_per_socket"])
        self.cpus = [cpu_struct(i, i // per_socket) for i in range(nr_cpus)]
        self.clock: dict = defaultdict(float)
        self.cpu_of: dict = {}               # task -> cpu_struct it runs or waits on
        self.slice_start: dict = {}
        self.model_sleepers: dict = {}      # task -> its wait condition
        self.jitter = costs["jitter"]
        self.slice_ns = costs["sched"]["slice_ns"]
        self.placement = costs["sched"]["placement"]
        if self.placement not in PLACEMENTS:
            raise ValueError(f"sched.placement {self.placement!r}: one of {', '.join(PLACEMENTS)}")
        self.governor = costs["sched"]["governor"]
        if self.governor not in CHOICES["sched.governor"]:
            raise ValueError(f"sched.governor {self.governor!r}: one of "
                             f"{', '.join(CHOICES['sched.governor'])}")
        self.tick_ns = costs["sched"]["tick_ns"]
        # symbol -> ns of CPU, as perf report attributes samples
        self.cpu_time: dict = defaultdict(float)
        self.children_waited: dict = {}      # child task -> waiting parent
        self.timeline: list = []             # (ns, pid, what), in order
        self.record_timeline = False
        self.hub_clock = 0.0
        # 3.0-rc1's per-CPU RCU callback kthreads (costs "rcu_kthread"), on
        # the eras that have them: each CPU's wakes every period_ns, at a
        # phase of its own
        rcu = costs["sched"]["rcu_kthread"]
        self.rcu_period = rcu["period_ns"] if rcu_kthreads else 0
        self.rcu_run = rcu["run_ns"]
        if self.rcu_period:
            for cpu in self.cpus:
                cpu.rcu_next = self.rng.random() * self.rcu_period

    # -- time ---------------------------------------------------------------------

    def charge(self, task, ns: float, symbol: str) -> None:
        """``task`` spent ``ns`` of CPU in kernel or user function ``symbol``."""
        if self.jitter:
            ns *= 1.0 + self.jitter * (2.0 * self.rng.random() - 1.0)
        self.clock[task] += ns
        self.cpu_time[symbol] += ns
        if self.record_timeline:
            self.timeline.append((round(self.clock[task], 3), task.pid, symbol))

    def now(self) -> float:
        task = self.kernel.current
        return self.clock[task] if task in self.cpu_of else self.hub_clock

    # -- CPUs ---------------------------------------------------------------------

    # Where a new or woken task runs: select_task_rq_fair() of the 3.0
    # scheduler (kernel/sched_fair.c), over the sched domains of a
    # multi-socket x86 machine without SMT: MC, one socket, the CPUs that
    # share its last-level cache (SD_SHARE_PKG_RESOURCES), its groups single
    # CPUs; NODE, the machine (arch/x86/include/asm/topology.h SD_NODE_INIT),
    # its groups the sockets.  Both levels have SD_BALANCE_FORK and
    # SD_WAKE_AFFINE, neither SD_BALANCE_WAKE, wake_idx = forkexec_idx = 0 (a
    # CPU's load is its nr_running now, every task of nice 0) and
    # imbalance_pct 125.  A domain's groups are a ring that starts at the
    # local group and goes on in CPU order.
    IMBALANCE = 100 + (125 - 100) // 2

    @staticmethod
    def nr_running(cpu) -> int:
        return (cpu.curr is not None) + len(cpu.rq)

    def _socket_cpus(self, cpu) -> list:
        return [c for c in self.cpus if c.socket == cpu.socket]

    def find_idlest_group(self, groups: list):
        """The least loaded group of a domain other than the local one
        (``groups[0]``), if the local group's average load is at least
        imbalance_pct/2 above it; else None: stay local."""
        def avg_load(group):
            # the sum of the loads over the group's cpu_power
            return sum(self.nr_running(c) for c in group) / len(group)
        this_load = avg_load(groups[0])
        idlest, min_load = None, float("inf")
        for group in groups[1:]:
            load = avg_load(group)
            if load < min_load:
                idlest, min_load = group, load
        if idlest is None or 100 * this_load < self.IMBALANCE * min_load:
            return None
        return idlest

    def find_idlest_cpu(self, group: list, this_cpu):
        """The group's least loaded CPU, ``this_cpu`` on a tie, else the
        lowest numbered."""
        return min(group, key=lambda c: (self.nr_running(c), c is not this_cpu, c.cpu))

    def select_fork_cpu(self, this_cpu):
        """SD_BALANCE_FORK (wake_up_new_task()): from the forking task's CPU
        down the domains, the idlest CPU of the idlest group at each level
        where the local group is busier by the imbalance."""
        sockets = sorted({c.socket for c in self.cpus})
        ring = sockets[sockets.index(this_cpu.socket):] + sockets[:sockets.index(this_cpu.socket)]
        group = self.find_idlest_group([[c for c in self.cpus if c.socket == s] for s in ring])
        cpu = this_cpu if group is None else self.find_idlest_cpu(group, this_cpu)
        siblings = self._socket_cpus(cpu)
        i = siblings.index(cpu)
        group = self.find_idlest_group([[c] for c in siblings[i:] + siblings[:i]])
        return cpu if group is None else group[0]

    def wake_affine(self, this_cpu, prev_cpu, sync: bool) -> bool:
        """Whether the wakee may run on the waker's CPU rather than on the
        CPU it last ran on: the waker's CPU, with the wakee, no busier than
        the previous CPU without it by imbalance_pct/2, counting a sync
        waker (about to sleep) as gone."""
        this_load = self.nr_running(this_cpu)
        load = self.nr_running(prev_cpu)
        if sync:
            this_load -= 1
        balanced = this_load <= 0 or 100 * (this_load + 1) <= self.IMBALANCE * load
        if sync and balanced:
            return True
        tl_per_task = 1 if self.nr_running(this_cpu) else 0   # cpu_avg_load_per_task()
        return balanced or (this_load <= load and this_load + load <= tl_per_task)

    def select_idle_sibling(self, target, this_cpu, prev_cpu):
        """``target`` if it is the waker's or the wakee's previous CPU and
        idle, else the first idle CPU sharing its last-level cache, else
        ``target`` itself, busy."""
        if target is this_cpu and target.curr is None:
            return target
        if target is prev_cpu and target.curr is None:
            return target
        for cpu in self._socket_cpus(target):
            if cpu.curr is None:
                return cpu
        return target

    def select_wake_cpu(self, task, waker, sync: bool):
        """SD_WAKE_AFFINE (try_to_wake_up()): the wakee's previous CPU, or
        the waker's where wake_affine() allows it, then select_idle_sibling().
        A waker that runs on no CPU (the hub) leaves the previous CPU."""
        prev_cpu = self.cpu_of[task]
        this_cpu = self.cpu_of.get(waker) if waker is not None and self.on_cpu(waker) else None
        target = prev_cpu
        if this_cpu is not None and (this_cpu is prev_cpu or
                                     self.wake_affine(this_cpu, prev_cpu, sync)):
            target = this_cpu
        return self.select_idle_sibling(target, this_cpu, prev_cpu)

    def _select_idle_longest(self):
        idle = [c for c in self.cpus if c.curr is None]
        if idle:
            return min(idle, key=lambda c: (c.idle_since, c.cpu))
        return min(self.cpus, key=lambda c: (len(c.rq), c.cpu))

    def select_cpu(self, task, waker, woken: bool, sync: bool):
        if self.placement == "idle-longest":
            return self._select_idle_longest()
        if woken and task in self.cpu_of:
            return self.select_wake_cpu(task, waker, sync)
        if waker is None or waker not in self.cpu_of:
            # a task the run starts with (spawned from the hub, on no CPU)
            return self.find_idlest_cpu(self.cpus, None)
        return self.select_fork_cpu(self.cpu_of[waker])

    def enqueue(self, task, at: float, woken: bool = False, waker=None,
                sync: bool = False) -> None:
        """``task`` is ready to run from ``at`` on: give it a CPU or queue it.
        A woken task goes to the head of the queue and preempts the CPU's
        task at its next preemption point (CFS's wakeup preemption: the
        sleeper's vruntime is behind); a new one goes to the tail (its
        vruntime starts a slice behind, START_DEBIT)."""
        self.clock[task] = max(self.clock[task], at)
        cpu = self.select_cpu(task, waker, woken, sync)
        self.cpu_of[task] = cpu
        if cpu.curr is None:
            self._put_on(cpu, task)
        elif woken:
            self._nr_running_changes(cpu, self.clock[task])
            cpu.rq.insert(0, task)
            cpu.resched = True
            self.resched_curr(cpu.curr)
        else:
            self._nr_running_changes(cpu, self.clock[task])
            cpu.rq.append(task)

    def need_resched(self, task) -> bool:
        """TIF_NEED_RESCHED: a wakeup preempts ``task``, or its slice is used
        up while another task waits for its CPU."""
        cpu = self.cpu_of.get(task)
        return cpu is not None and bool(cpu.rq) and (
            cpu.resched or self.clock[task] - self.slice_start[task] >= self.slice_ns)

    def _put_on(self, cpu, task) -> None:
        idle = self.clock[task] - cpu.idle_since
        self.clock[task] = max(self.clock[task], cpu.idle_since)
        entry_load = cpu.tick_load          # the last tick before it went idle
        self._nr_running_changes(cpu, self.clock[task])
        cpu.curr = task
        cpu.resched = False
        if idle > 0:
            # cpuidle: the CPU slept in the C-state its governor chose
            # (intel_idle's table for the era's CPU) and pays that state's
            # exit latency before the task runs
            cstates = self.costs["sched"]["cstates"]
            if self.governor == "menu":
                exit_ns = menu_exit_ns(cpu.menu, cstates, self.tick_ns, cpu.idle_since,
                                       self.clock[task], entry_load)
            else:
                exit_ns = oracle_exit_ns(cstates, idle)
            self.clock[task] += exit_ns
            self.cpu_time["cpuidle exit"] += exit_ns
        self.slice_start[task] = self.clock[task]
        if self.rcu_period and self.clock[task] >= cpu.rcu_next:
            # the kthread's wakeups while the CPU idled preempted nobody
            cpu.rcu_next += ((self.clock[task] - cpu.rcu_next) // self.rcu_period + 1) \
                * self.rcu_period
        self.charge(task, self.costs["sched"]["context_switch_ns"], "schedule")

    def _nr_running_changes(self, cpu, at: float) -> None:
        """The CPU's task count is about to change at ``at``: if a tick came
        since its last change, the tick saw the count it has now (the menu
        governor's cpu_load[0])."""
        if self.tick_ns and at // self.tick_ns > cpu.load_at // self.tick_ns:
            cpu.tick_load = self.nr_running(cpu)
        cpu.load_at = max(cpu.load_at, at)

    def leave_cpu(self, task) -> None:
        """``task`` sleeps or is gone: its CPU runs the head of its run
        queue, or goes idle."""
        cpu = self.cpu_of[task]
        self._nr_running_changes(cpu, self.clock[task])
        cpu.curr = None
        cpu.idle_since = self.clock[task]
        if cpu.rq:
            self._put_on(cpu, cpu.rq.pop(0))

    def on_cpu(self, task) -> bool:
        cpu = self.cpu_of.get(task)
        return cpu is not None and cpu.curr is task

    def running(self, task) -> bool:
        """``task`` is on its CPU, not preempted by the CPU's RCU kthread, at
        the current task's time (mutex_spin_on_owner()'s owner->on_cpu)."""
        return self.on_cpu(task) and self.now() >= self.cpu_of[task].rcu_until

    # -- the Scheduler interface ----------------------------------------------------

    def reserve(self, nr_tasks: int) -> None:
        """Make idle greenlets for ``nr_tasks`` tasks alive at once, entered
        from here, the hub: a task forked during the run then starts in one
        of them instead of in a greenlet entered from deep in its parent's
        stack, which would keep that Python recursion depth, its children
        the sum, and a long run of forks overflow it."""
        hub = greenlet.getcurrent()
        for _ in range(nr_tasks - len(_idle)):
            greenlet.greenlet(ret_from_fork, hub).switch(None, True)

    def spawn(self, task, fn, *args, daemon: bool = False) -> None:
        parent = self.kernel.current
        super().spawn(task, fn, *args, daemon=daemon)
        self.enqueue(task, self.now() if parent in self.cpu_of else self.hub_clock,
                     waker=parent)

    def wait_for(self, obj, test, spin: bool = False) -> None:
        """A wait in the kernel model's own code (a lock this model does not
        time, a wait queue): a spinner keeps its CPU, a sleeper leaves it and
        is woken when ``test()`` holds, at the time of whoever made it so."""
        if spin or test():
            super().wait_for(obj, test, spin)
            return
        task = self.kernel.current
        self.leave_cpu(task)
        self.owner_sleeps(task)
        self.model_sleepers[task] = test
        super().wait_for(obj, lambda: test() and self.on_cpu(task))

    def _runnable(self) -> list:
        if self.model_sleepers:
            waker = self.kernel.current
            now = self.clock[waker] if waker in self.cpu_of else self.hub_clock
            for t, test in list(self.model_sleepers.items()):
                if test():
                    del self.model_sleepers[t]
                    self.wake(t, now)
        return [t for t in self.tasks
                if self.on_cpu(t) and t.state != TASK_DEAD
                and (t.sched_wait is None or t.sched_wait())]

    def _pick(self, runnable, current, is_yielding: bool):
        # No schedule is recorded: the strategy has no choice to replay.
        if len(runnable) == 1:
            return runnable[0]
        return self.strategy.next_task(runnable, current, is_yielding)

    def _reap(self) -> None:
        for task in [t for t in self.tasks if t.state == TASK_DEAD]:
            self.hub_clock = max(self.hub_clock, self.clock[task])
            parent = self.children_waited.pop(task, None)
            if parent is not None and self.placement == "select_task_rq_fair":
                # exit_notify()'s __wake_up_parent(), a sync wakeup from the
                # exiting child's CPU before its last schedule()
                self.wake(parent, self.clock[task], waker=task, sync=True)
                parent = None
            self.leave_cpu(task)
            if parent is not None:
                # idle-longest, as the model placed tasks before it had
                # select_task_rq_fair(): the child's CPU free first
                self.wake(parent, self.clock[task])
        super()._reap()

    def rcu_kthread(self, task) -> None:
        """3.0-rc1 ran RCU callbacks in a SCHED_FIFO kthread per CPU (rcuc%d,
        a26ac2455ffc; in softirq again by 3.0), woken from the tick: at its
        first preemption point past the wakeup, the CPU's task gives the CPU
        to the kthread for ``run_ns`` and two context switches, holding
        whatever sleeping lock it holds; spinners on that lock see the owner
        leave its CPU.  A kthread wakeup on an idle CPU preempts nobody."""
        cpu = self.cpu_of[task]
        if self.clock[task] < cpu.rcu_next:
            return
        self.schedule()                 # the tasks behind in time spin on its locks first
        self.owner_sleeps(task)
        self.charge(task, self.rcu_run, "rcu_cpu_kthread")
        self.charge(task, 2 * self.costs["sched"]["context_switch_ns"], "schedule")
        cpu.rcu_until = self.clock[task]
        periods = (self.clock[task] - cpu.rcu_next) // self.rcu_period + 1
        cpu.rcu_next += periods * self.rcu_period

    def cond_resched(self) -> None:
        task = self.kernel.current
        if self.rcu_period and self.on_cpu(task) and not self.preempt_disabled(task):
            self.rcu_kthread(task)
        if self.need_resched(task) and not self.preempt_disabled(task):
            # A woken task preempts, or the slice is used up and someone
            # waits: to the back of the queue.
            cpu = self.cpu_of[task]
            self.leave_cpu(task)
            self.owner_sleeps(task)
            cpu.rq.append(task)
        self.schedule()

    might_sleep = cond_resched

    def preempt_point(self) -> None:
        """CONFIG_PREEMPT: the current task is preemptible here (no spinlock
        held, preempt_count 0), so a set need_resched preempts it at once, in
        or out of a mutex or rwsem section.  Under voluntary preemption the
        kernel has no such point: the task runs on to its next might_resched()."""
        if self.preempt != "full":
            return
        task = self.kernel.current
        if self.on_cpu(task) and not self.preempt_disabled(task) and (
                self.need_resched(task) or self.clock[task] >= self.cpu_of[task].rcu_next):
            self.cond_resched()

    # -- sleeping and waking --------------------------------------------------------

    # The lock timing layer's view of the anon_vma lock (locks.py): whether
    # a task holds it as a spinlock, and what spinners do when an owner
    # leaves its CPU.
    def preempt_disabled(self, task) -> bool:
        return False

    def resched_curr(self, task) -> None:
        pass

    def owner_sleeps(self, task) -> None:
        pass

    def sleep(self, obj, woken) -> None:
        """Sleep (off the CPU) until ``woken()``; whoever makes it true calls
        ``wake`` with the time the task is ready to run again."""
        task = self.kernel.current
        self.leave_cpu(task)
        self.owner_sleeps(task)
        Scheduler.wait_for(self, obj, lambda: woken() and self.on_cpu(task))

    def wake(self, task, at: float, waker=None, sync: bool = False) -> None:
        """try_to_wake_up() by ``waker`` (the current task unless given;
        ``sync``: WF_SYNC, the waker is about to sleep): ready ``wakeup_ns``
        after ``at``."""
        self.enqueue(task, at + self.costs["sched"]["wakeup_ns"], woken=True,
                     waker=self.kernel.current if waker is None else waker, sync=sync)

    def wait4(self, child) -> None:
        """The current task waits for ``child`` to exit."""
        if child.state == TASK_DEAD or child not in self.cpu_of:
            return
        self.children_waited[child] = self.kernel.current
        self.sleep(child, lambda: child.state == TASK_DEAD)
