"""kernel/sched/core.c: tasks, and the schedulers that decide which one runs.

``task_struct`` is the part of the kernel's task that the model needs.  The
object behind ``kernel.sched`` is where a task waits, sleeps or may be
preempted; kernel code calls it at the kernel's scheduling points only:

  ``wait_for(obj, test)``  a lock or wait queue that is not free
                           (``schedule()`` in the slow paths)
  ``might_sleep()``        sleeping locks and blocking allocations
  ``cond_resched()``       the kernel's explicit preemption points
  ``yield_()``             ``cpu_relax()``/``sched_yield()`` retry loops

Two schedulers implement that interface.  ``SequentialScheduler`` runs one
task at a time and never switches: a wait it cannot satisfy at once is a hung
task, and nothing on its path touches greenlets, so a plain scenario pays for
concurrency with one method call per scheduling point.  ``Scheduler`` runs
every task as a greenlet that switches only at those points, and asks a
*strategy* (``anonvma.explore.strategies``) which runnable task goes next
whenever there is more than one.  It records every such choice in
``choices``, the run's *schedule*: running the same program with
``Replay(choices)`` repeats the run event for event.

Where Python departs from C: there are no CPUs, runqueues or time slices.
A task that spins on a lock (``spin=True``) is no more runnable than one that
sleeps: it can make no progress until the holder runs, and counting it as
runnable would only let a strategy waste choices on it.  "Preemption" means
the strategy picked another task at a point where the current one could have
continued.
"""

from __future__ import annotations

import greenlet

PF_MEMALLOC = 0x00000800
PF_KSWAPD = 0x00020000
PF_MEMALLOC_NOFS = 0x00040000
PF_MEMALLOC_NOIO = 0x00080000
PF_KTHREAD = 0x00200000

# task_struct.__state (the parts the model distinguishes)
TASK_RUNNING = 0
TASK_UNINTERRUPTIBLE = 2
TASK_DEAD = 0x80


class task_struct:
    __slots__ = (
        "pid", "comm", "mm", "flags", "exit_state", "state",
        # lockdep (include/linux/sched.h, CONFIG_LOCKDEP): the held-lock
        # stack, the running hash of it, and the 2009-2017 reclaim context.
        "held_locks", "curr_chain_key", "lockdep_reclaim_gfp",
        # What the task is blocked on (the 6.x hung-task "blocker"), and the
        # condition that makes it runnable again: the model's wait queue entry.
        "blocked_on", "sched_wait",
        # The model's scheduler: the task's greenlet and its entry point.
        "greenlet", "fn", "args", "daemon",
        # Fault injection (CONFIG_FAULT_INJECTION): /proc/<pid>/make-it-fail
        # for failslab's task filter, and /proc/<pid>/fail-nth.
        "make_it_fail", "fail_nth",
        # chosen by the OOM killer: may use the reserves, dies on return
        "oom_victim",
        # the thread group: its leader (the task itself for a process)
        "group_leader",
    )

    def __init__(self, pid: int, comm: str, mm=None, flags: int = 0):
        self.pid = pid
        self.comm = comm
        self.mm = mm
        self.flags = flags
        self.exit_state = 0
        self.state = TASK_RUNNING      # the kernel's __state
        self.held_locks = []
        self.curr_chain_key = 0
        self.lockdep_reclaim_gfp = 0
        self.blocked_on = None
        self.sched_wait = None
        self.greenlet = None
        self.fn = None
        self.args = ()
        self.daemon = False
        self.make_it_fail = False
        self.fail_nth = 0
        self.oom_victim = False
        self.group_leader = self

    def __repr__(self) -> str:
        return f"<task {self.comm}/{self.pid}>"


class HungTask(Exception):
    """Every task is blocked: the kernel's hung-task detector would fire.
    ``report`` is the text that went out through ``trace.report``."""

    def __init__(self, report: str):
        super().__init__(report)
        self.report = report


def _hung(kernel, tasks) -> HungTask:
    # Imported here: hung_task formats reports, which the fast paths never do.
    from ..hung_task import check_hung_tasks

    text = check_hung_tasks(kernel, tasks)
    trace = kernel.trace
    if trace.report.probes:
        trace.report("hung_task", text)
    return HungTask(text)


class SequentialScheduler:
    """One task at a time, in program order: nothing ever switches, so a
    wait that is not satisfied at once can never be, and is a hung task."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.tasks: list[task_struct] = []

    def spawn(self, task: task_struct, fn, *args, daemon: bool = False) -> None:
        """Queue ``fn(*args)`` to run as ``task``.  A daemon (a kernel thread
        such as kswapd) is not waited for; sequentially it never runs."""
        if not daemon:
            task.fn, task.args = fn, args
            self.tasks.append(task)

    def run(self) -> None:
        """Run the queued tasks one after another, each to completion."""
        kernel = self.kernel
        saved = kernel.current
        tasks, self.tasks = self.tasks, []
        try:
            for task in tasks:
                kernel.current = task
                task.fn(*task.args)
        finally:
            kernel.current = saved

    def wait_for(self, obj, test, spin: bool = False) -> None:
        if test():
            return
        task = self.kernel.current
        task.blocked_on = obj
        raise _hung(self.kernel, [task])

    def might_sleep(self) -> None:
        pass

    def cond_resched(self) -> None:
        pass

    def yield_(self) -> None:
        pass

    def choose(self, n: int) -> int:
        """A modelled random choice among ``n``: sequentially, the first."""
        return 0


class Scheduler:
    """Tasks as greenlets, switched at scheduling points by a strategy.

    The greenlet that calls ``run()`` is the *hub*: it starts the tasks and
    gets control back only when a task finishes, raises, or when no task can
    run.  Tasks hand the CPU to each other directly, so a context switch is
    one greenlet switch.  Invariants: ``kernel.current`` is the task whose
    greenlet is running (or the hub's task outside ``run()``); every task in
    ``tasks`` is unfinished, in spawn order, which is the order strategies see
    them in.
    """

    def __init__(self, kernel, strategy, log: bool = False):
        self.kernel = kernel
        self.strategy = strategy
        self.tasks: list[task_struct] = []
        # The recorded choices: a pid for each pick among several runnable
        # tasks, an int for each ``choose()``; what Replay consumes.
        self.choices: list[int] = []
        # Optional decision log, one entry per schedule entry: (runnable pids,
        # current pid, pick) or (n, choice); the determinism check compares
        # logs and shrinking reads preemptions from them.
        self.log: list | None = [] if log else None
        self.hub = None
        self.nr_switches = 0
        self._dying = False

    # -- creating and running tasks ------------------------------------------

    def spawn(self, task: task_struct, fn, *args, daemon: bool = False) -> None:
        task.fn, task.args, task.daemon = fn, args, daemon
        task.sched_wait = None
        self.tasks.append(task)

    def run(self) -> None:
        """Run until every non-daemon task has finished and no task can run.

        Raises ``HungTask`` (after reporting it) if tasks remain blocked on
        locks, and re-raises whatever a task raised.  Daemons left waiting
        on their wait queues stay for the next ``run()``.
        """
        kernel = self.kernel
        saved = kernel.current
        self.hub = greenlet.getcurrent()
        try:
            while True:
                runnable = self._runnable()
                if not runnable:
                    if any(not t.daemon or is_lock(t.blocked_on) for t in self.tasks):
                        raise _hung(kernel, self.tasks)
                    return
                task = self._pick(runnable, None, False)
                kernel.current = task
                self.nr_switches += 1
                if task.greenlet is None:
                    task.greenlet = greenlet.greenlet(self._task_entry, self.hub)
                    task.greenlet.switch(task)
                else:
                    # A daemon left idle by an earlier run() returns to us.
                    task.greenlet.parent = self.hub
                    task.greenlet.switch()
        except BaseException:
            self._kill_all()
            raise
        finally:
            kernel.current = saved
            self.hub = None

    def _task_entry(self, task: task_struct) -> None:
        task.fn(*task.args)
        self.tasks.remove(task)
        task.state = TASK_DEAD
        # Returning switches to the hub, which picks the next task.

    def _kill_all(self) -> None:
        """Unwind every unfinished task after a failure.  The kernel and
        everything attached to it are being thrown away; the unwinding runs
        ``finally`` clauses of model code, which must not schedule, so the
        scheduler refuses (``GreenletExit``) while it is dying."""
        self._dying = True
        kernel = self.kernel
        # The unwinding is not part of the run: nobody hears its tracepoints.
        trace, kernel.trace = kernel.trace, type(kernel.trace)()
        try:
            for task in self.tasks:
                g = task.greenlet
                if g is not None and not g.dead:
                    kernel.current = task
                    try:
                        g.throw()
                    except greenlet.GreenletExit:
                        pass
        finally:
            kernel.trace = trace
        self.tasks = []

    # -- scheduling points ---------------------------------------------------

    def _runnable(self) -> list[task_struct]:
        return [t for t in self.tasks if t.sched_wait is None or t.sched_wait()]

    def _pick(self, runnable, current, is_yielding: bool) -> task_struct:
        if len(runnable) == 1:
            return runnable[0]
        task = self.strategy.next_task(runnable, current, is_yielding)
        self.choices.append(task.pid)
        if self.log is not None:
            self.log.append((tuple(t.pid for t in runnable),
                             current.pid if current is not None else None, task.pid))
        return task

    def schedule(self, is_yielding: bool = False) -> None:
        """``__schedule()``: let the strategy pick who runs next, and switch
        to it.  Returns when the current task is picked again."""
        if self.hub is None:
            return              # outside run(): one task, nothing to switch
        if self._dying:
            raise greenlet.GreenletExit
        prev = self.kernel.current
        runnable = self._runnable()
        if not runnable:
            # Nobody can run: the hub decides whether this is the end of the
            # run (only idle daemons left) or a hang.  If the run goes on
            # later, the hub resumes us here.
            self.hub.switch()
            return
        if len(runnable) == 1 and runnable[0] is prev:
            return
        next = self._pick(runnable, prev, is_yielding)
        if next is prev:
            return
        self.context_switch(prev, next)

    def context_switch(self, prev: task_struct, next: task_struct) -> None:
        kernel = self.kernel
        tp = kernel.trace.sched_switch
        if tp.probes:
            tp(prev, next)
        kernel.current = next
        self.nr_switches += 1
        if next.greenlet is None:
            next.greenlet = greenlet.greenlet(self._task_entry, self.hub)
            next.greenlet.switch(next)
        else:
            next.greenlet.switch()
        if self._dying:
            raise greenlet.GreenletExit

    def wait_for(self, obj, test, spin: bool = False) -> None:
        """Block the current task on ``obj`` until ``test()`` holds."""
        if test():
            return
        task = self.kernel.current
        if self.hub is None:
            # Outside run() there is no other task to wait for.
            task.blocked_on = obj
            raise _hung(self.kernel, [task])
        task.blocked_on = obj
        task.sched_wait = test
        task.state = TASK_UNINTERRUPTIBLE
        try:
            while not test():
                self.schedule()
        finally:
            task.blocked_on = None
            task.sched_wait = None
            task.state = TASK_RUNNING

    def might_sleep(self) -> None:
        self.schedule()

    def cond_resched(self) -> None:
        self.schedule()

    def yield_(self) -> None:
        self.schedule(True)

    def choose(self, n: int) -> int:
        """A modelled random choice among ``n`` (which allocation fails, which
        page reclaim picks...), drawn from the strategy and recorded."""
        if n <= 1:
            return 0
        c = self.strategy.choose(n)
        self.choices.append(c)
        if self.log is not None:
            self.log.append((n, c))
        return c


def is_lock(obj) -> bool:
    """A wait on a lock can only end when its holder releases it; a daemon
    waiting on a wait queue (kswapd_wait) is idle, not hung."""
    return hasattr(obj, "wait_list")
