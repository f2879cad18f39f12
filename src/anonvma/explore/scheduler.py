"""The explorer's scheduler: every task in a greenlet of its own, switched
only at the kernel's scheduling points, with a strategy choosing who runs.

It implements the interface of ``kernel.sched`` (kernel/kernel/sched/core.py).
The greenlet that calls ``run()`` is the *hub*: it starts tasks and gets
control back when a task finishes, raises, or when no task can run.  Tasks
hand the CPU to each other directly, so a context switch is one greenlet
switch.  Invariants: ``kernel.current`` is the task whose greenlet runs (the
hub's task outside ``run()``); ``tasks`` holds every unfinished task in spawn
order, the order strategies see them in.

Every decision among two or more possibilities is recorded in ``decisions``
as a typed record (``schedule.Pick`` or ``schedule.Draw``): the run's
*schedule*, which ``Replay`` plays back event for event.

Where Python departs from C: there are no CPUs, runqueues or time slices.
A task that spins on a lock is no more runnable than one that sleeps: it
can make no progress until the holder runs, and counting it as runnable
would only let a strategy waste decisions on it.  "Preemption" means the
strategy picked another task at a point where the current one could have
continued.
"""

from __future__ import annotations

import sys

import greenlet

from ..kernel.kernel.hung_task import is_lock
from ..kernel.kernel.sched.core import TASK_DEAD, TASK_RUNNING, TASK_UNINTERRUPTIBLE, hung
from .schedule import Draw, Pick

# Idle greenlets, to run the next tasks started: creating a greenlet costs
# as much as a small operation of the model.  A greenlet keeps the Python
# recursion depth it was first entered at, so only greenlets first entered
# from a hub are kept (``Scheduler.run`` makes them); one started from deep
# in a task's stack ends with its task.
_idle: list = []


def ret_from_fork(task, pooled: bool) -> None:
    """The bottom of every task's greenlet (the kernel's ret_from_fork):
    run the task's function; when it returns, the task is dead and a pooled
    greenlet waits among the idle ones for its next task.  A task that
    raises, or is unwound by ``shutdown``, takes its greenlet with it."""
    g = greenlet.getcurrent()
    while True:
        if task is not None:
            task.fn(*task.args)
            task.state = TASK_DEAD
            task.thread = None
            if not pooled:
                return
            # an idle greenlet must not keep its last task's machine alive
            task = None
        _idle.append(g)
        task = g.parent.switch()


def _start(task, hub) -> None:
    """Start ``task`` in a greenlet whose return (or exception) lands in ``hub``."""
    if _idle:
        g = _idle.pop()
        g.parent = hub
        task.thread = g
        g.switch(task)
    else:
        g = task.thread = greenlet.greenlet(ret_from_fork, hub)
        g.switch(task, False)


class Scheduler:

    def __init__(self, kernel, strategy, prev=None):
        self.kernel = kernel
        self.strategy = strategy
        # The daemons (kswapd) a scheduler of this kind started for the
        # machine before (explore.prefix) go on under this one.
        self.tasks: list = list(prev.tasks) if isinstance(prev, Scheduler) else []
        self.decisions: list = []
        self.hub = None
        self.nr_switches = 0
        self._dying = False

    # -- creating and running tasks ------------------------------------------

    def spawn(self, task, fn, *args, daemon: bool = False) -> None:
        task.fn, task.args, task.daemon = fn, args, daemon
        task.sched_wait = None
        task.thread = None          # a task of an earlier block starts afresh
        task.state = TASK_RUNNING
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
        for _ in range(len(self.tasks) - len(_idle)):
            greenlet.greenlet(ret_from_fork, self.hub).switch(None, True)
        try:
            while True:
                self._reap()
                runnable = self._runnable()
                if not runnable:
                    if any(not t.daemon or is_lock(t.blocked_on) for t in self.tasks):
                        raise hung(kernel, self.tasks)
                    return
                self._switch_to(self._pick(runnable, None, False))
        except BaseException:
            self.shutdown()
            raise
        finally:
            kernel.current = saved
            self.hub = None

    def _switch_to(self, task) -> None:
        self.kernel.current = task
        self.nr_switches += 1
        g = task.thread
        if g is None:
            _start(task, self.hub)
        else:
            g.parent = self.hub     # a daemon left idle by an earlier run()
            g.switch()

    def _reap(self) -> None:
        """Tasks whose function returned are done (do_task_dead)."""
        if any(t.state == TASK_DEAD for t in self.tasks):
            self.tasks = [t for t in self.tasks if t.state != TASK_DEAD]

    def shutdown(self) -> None:
        """Unwind every unfinished task, daemons included: the run is over
        (it failed, or it ended and the kernel is thrown away), and a task
        left suspended would keep its whole kernel alive.  The unwinding
        runs ``finally`` clauses of model code, which must not schedule, so
        the scheduler refuses (``GreenletExit``) while it is dying."""
        self._dying = True
        kernel = self.kernel
        suspended = [task for task in self.tasks
                     if task.thread is not None and not task.thread.dead]
        if suspended:
            # The unwinding is not part of the run: nobody hears its
            # tracepoints (and a run that ended has no tracer to make).
            trace, kernel.trace = kernel.trace, type(kernel.trace)()
            try:
                for task in suspended:
                    kernel.current = task
                    try:
                        task.thread.throw()
                    except greenlet.GreenletExit:
                        pass
                    task.thread = None
            finally:
                kernel.trace = trace
        for task in self.tasks:
            task.thread = None
        self.tasks = []

    # -- scheduling points ---------------------------------------------------

    def _runnable(self) -> list:
        return [t for t in self.tasks
                if t.state != TASK_DEAD and (t.thread is None or not t.thread.dead)
                and (t.sched_wait is None or t.sched_wait())]

    def _pick(self, runnable, current, is_yielding: bool):
        if len(runnable) == 1:
            return runnable[0]
        task = self.strategy.next_task(runnable, current, is_yielding)
        self.decisions.append(Pick(task.pid, tuple([t.pid for t in runnable]),
                                   current.pid if current is not None else None))
        return task

    def schedule(self, is_yielding: bool = False) -> None:
        """``__schedule()``: let the strategy pick who runs next, and switch
        to it.  Returns when the current task is picked again."""
        if self.hub is None:
            return              # outside run(): one task, nothing to switch
        if self._dying:
            raise greenlet.GreenletExit
        prev = self.kernel.current
        tasks = self.tasks
        if len(tasks) == 1 and tasks[0] is prev and prev.sched_wait is None:
            return              # the one task left, and running: nobody to switch to
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

    def context_switch(self, prev, next) -> None:
        tp = self.kernel.trace.sched_switch
        if tp.probes:
            tp(prev, next)
        if next.thread is None:
            # Started from the hub, so that its return lands there.
            self.kernel.current = next
            self.nr_switches += 1
            _start(next, self.hub)
        else:
            self.kernel.current = next
            self.nr_switches += 1
            next.thread.switch()
        if self._dying:
            raise greenlet.GreenletExit

    def wait_for(self, obj, test, spin: bool = False) -> None:
        """Block the current task on ``obj`` until ``test()`` holds."""
        if test():
            return
        task = self.kernel.current
        task.blocked_on = obj
        if self.hub is None:
            # Outside run() there is no other task to wait for.
            self._blocked_frame = sys._getframe(1)
            raise hung(self.kernel, [task])
        task.sched_wait = test
        task.state = TASK_UNINTERRUPTIBLE
        try:
            while not test():
                self.schedule()
        finally:
            task.blocked_on = None
            task.sched_wait = None
            task.state = TASK_RUNNING

    def task_frame(self, task):
        """The innermost frame of a blocked task outside this scheduler:
        the kernel function that called ``wait_for``."""
        g = task.thread
        suspended = g is not None and not g.dead and g is not greenlet.getcurrent()
        frame = g.gr_frame if suspended else self._blocked_frame
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        return frame

    _blocked_frame = None

    # Scheduling points without a yield: ``schedule`` itself, one call less
    # at the commonest points of a run.
    might_sleep = cond_resched = schedule

    def yield_(self) -> None:
        self.schedule(True)

    def choose(self, n: int) -> int:
        """A modelled random choice among ``n`` (which allocation fails, which
        page reclaim picks...), drawn from the strategy and recorded."""
        if n <= 1:
            return 0
        c = self.strategy.choose(n)
        self.decisions.append(Draw(c, n))
        return c
