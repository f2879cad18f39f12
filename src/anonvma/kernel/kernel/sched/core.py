"""kernel/sched/core.c: tasks, and where they may be scheduled.

``task_struct`` is the part of the kernel's task that the model needs.  The
object behind ``kernel.sched`` is where a task waits, sleeps or may be
preempted; kernel code calls it at the kernel's scheduling points only:

  ``spawn(task, fn, *args)``  a new task (``wake_up_new_task``), or a kernel
                              thread (``daemon=True``) that is not waited for
  ``run()``                   run the spawned tasks until they are done
  ``wait_for(obj, test)``     a lock or wait queue that is not free
                              (``schedule()`` in the slow paths)
  ``might_sleep()``           sleeping locks and blocking allocations
  ``cond_resched()``          the kernel's explicit preemption points
  ``yield_()``                ``cpu_relax()``/``sched_yield()`` retry loops
  ``choose(n)``               a modelled random choice among n

The kernel's own scheduler is ``SequentialScheduler``: one task at a time,
never switching, so a wait it cannot satisfy at once is a hung task, and a
plain scenario pays for concurrency with one method call per scheduling
point.  The explorer installs a scheduler that runs every task in a context
of its own and lets a strategy choose at each of those points
(``anonvma.explore.scheduler``); the kernel does not know which it has.
"""

from __future__ import annotations

import sys

from ..hung_task import check_hung_tasks

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
        # stack (slots, the first lockdep_depth in use) and its chain key.
        "held_locks", "lockdep_depth", "curr_chain_key",
        # What the task is blocked on (the 6.x hung-task "blocker"), and the
        # condition that makes it runnable again: the model's wait queue entry.
        "blocked_on", "sched_wait",
        # For the scheduler: the task's entry point, whether it is a kernel
        # thread nobody waits for, and ``thread``, the context it runs in
        # (the kernel's thread_struct: saved registers; here the explorer's).
        "fn", "args", "daemon", "thread",
        # Fault injection (CONFIG_FAULT_INJECTION): /proc/<pid>/make-it-fail
        # for failslab's task filter, and /proc/<pid>/fail-nth.
        "make_it_fail", "fail_nth",
        # chosen by the OOM killer: may use the reserves, dies on return
        "oom_victim",
        # the thread group: its leader (the task itself for a process)
        "group_leader",
        # CONFIG_PREEMPT_RCU: how deep in rcu_read_lock() sections it is
        "rcu_read_lock_nesting",
    )

    def __init__(self, pid: int, comm: str, mm=None, flags: int = 0):
        self.pid = pid
        self.comm = comm
        self.mm = mm
        self.flags = flags
        self.exit_state = 0
        self.state = TASK_RUNNING      # the kernel's __state
        self.held_locks = []
        self.lockdep_depth = 0
        self.curr_chain_key = None     # no lock held yet: lockdep starts at its root
        self.blocked_on = None
        self.sched_wait = None
        self.thread = None
        self.fn = None
        self.args = ()
        self.daemon = False
        self.make_it_fail = False
        self.fail_nth = 0
        self.oom_victim = False
        self.group_leader = self
        self.rcu_read_lock_nesting = 0

    def __repr__(self) -> str:
        return f"<task {self.comm}/{self.pid}>"


class HungTask(Exception):
    """Every task is blocked: the kernel's hung-task detector would fire.
    ``report`` is the text that went out through ``trace.report``."""

    def __init__(self, report: str):
        super().__init__(report)
        self.report = report


def hung(kernel, tasks) -> HungTask:
    """Report tasks that can never run again (khungtaskd's report, through
    the bus) and return the exception that ends the run."""
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
        self._blocked_frame = None

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
        self._blocked_frame = sys._getframe(1)
        raise hung(self.kernel, [task])

    def task_frame(self, task):
        """The innermost kernel frame of the blocked ``task`` (sequentially,
        the one task, where it found it would wait forever)."""
        return self._blocked_frame

    def shutdown(self) -> None:
        """The run is over: forget what was never run."""
        self.tasks = []

    def might_sleep(self) -> None:
        pass

    def cond_resched(self) -> None:
        pass

    def yield_(self) -> None:
        pass

    def choose(self, n: int) -> int:
        """A modelled random choice among ``n``: sequentially, the first."""
        return 0
