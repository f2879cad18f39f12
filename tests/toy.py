"""A toy kernel and small concurrent programs over it.

The scheduler, the strategies and lockdep need only what any kernel gives
them: ``current``, ``sched``, ``trace``, ``might_sleep()``,
``cond_resched()`` and ``lockdep``.  ``ToyKernel`` is exactly that, so that
their self-tests and benchmarks do not depend on the anon_vma model, and a
program here is the smallest reproducer of each classic locking bug.
"""

from __future__ import annotations

from anonvma.kernel.kernel.locking.lock import lock_class_key
from anonvma.kernel.kernel.locking.lockdep import Lockdep
from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_unlock
from anonvma.kernel.kernel.locking.rwsem import (
    down_read, down_write, rw_semaphore, up_read, up_write,
)
from anonvma.kernel.kernel.sched.core import HungTask, SequentialScheduler, task_struct
from anonvma.trace import Tracer


class ToyKernel:
    """``lockdep``: False, True (today's), or a lockdep class to attach."""

    def __init__(self, lockdep=True):
        self.trace = Tracer()
        self.sched = SequentialScheduler(self)
        self.current = task_struct(1, "init")
        self.lockdep = None
        if lockdep:
            (Lockdep if lockdep is True else lockdep)(self)
        self.next_pid = 2

    def init_utsname_release(self) -> str:
        # what lockdep's splats print: today's kernel
        return "6.18.0"

    def might_sleep(self) -> None:
        self.sched.might_sleep()

    def cond_resched(self) -> None:
        self.sched.cond_resched()

    def new_task(self, comm: str) -> task_struct:
        t = task_struct(self.next_pid, comm)
        self.next_pid += 1
        return t


class ToyMachine:
    """What the explorer runs: a booted toy kernel, the reports heard on its
    bus, and ``run()``, the program's tasks under ``kernel.sched``."""

    def __init__(self, program, kernel):
        self.program = program
        self.kernel = kernel
        self.reports = []
        kernel.trace.report.register(lambda kind, text: self.reports.append((kind, text)))

    def run(self) -> None:
        try:
            self.program.run(self.kernel)
        except HungTask:
            pass            # reported on the bus
        finally:
            self.kernel.sched.shutdown()


class ToyProgram:
    """A program for the explorer: ``boot()`` makes a fresh kernel,
    ``run(kernel)`` starts the tasks and runs them to the end."""

    name = "toy"

    def __init__(self, lockdep: bool = True):
        self.lockdep = lockdep

    def boot(self) -> ToyMachine:
        return ToyMachine(self, ToyKernel(lockdep=self.lockdep))

    def source(self) -> str:
        return f"# {self.name}: {type(self).__doc__.strip().splitlines()[0]}\n"


class ABBA(ToyProgram):
    """Two tasks take mutexes A and B in opposite orders."""

    name = "abba"

    def run(self, k: ToyKernel) -> None:
        a = mutex(k, lock_class_key("A"))
        b = mutex(k, lock_class_key("B"))

        def t(first, second):
            mutex_lock(first)
            k.cond_resched()
            mutex_lock(second)
            mutex_unlock(second)
            mutex_unlock(first)

        k.sched.spawn(k.new_task("t1"), t, a, b)
        k.sched.spawn(k.new_task("t2"), t, b, a)
        k.sched.run()


class Ordered(ToyProgram):
    """``nr_tasks`` tasks each take ``nr_locks`` mutexes in one global order,
    ``iterations`` times: no bug, many interleavings (the benchmark load)."""

    name = "ordered"

    def __init__(self, nr_tasks: int = 3, nr_locks: int = 2, iterations: int = 5,
                 lockdep: bool = True):
        super().__init__(lockdep)
        self.nr_tasks, self.nr_locks, self.iterations = nr_tasks, nr_locks, iterations

    def run(self, k: ToyKernel) -> None:
        locks = [mutex(k, lock_class_key(f"L{i}")) for i in range(self.nr_locks)]

        def t():
            for _ in range(self.iterations):
                for lock in locks:
                    mutex_lock(lock)
                for lock in reversed(locks):
                    mutex_unlock(lock)
                k.cond_resched()

        for i in range(self.nr_tasks):
            k.sched.spawn(k.new_task(f"t{i}"), t)
        k.sched.run()


class ReadWriteInversion(ToyProgram):
    """Reader takes rwsem R for read then mutex M; writer holds M and takes R
    for write: an rwsem read lock deadlocks like a mutex would."""

    name = "rw-inversion"

    def run(self, k: ToyKernel) -> None:
        r = rw_semaphore(k, lock_class_key("R"))
        m = mutex(k, lock_class_key("M"))

        def reader():
            down_read(r)
            k.cond_resched()
            mutex_lock(m)
            mutex_unlock(m)
            up_read(r)

        def writer():
            mutex_lock(m)
            k.cond_resched()
            down_write(r)
            up_write(r)
            mutex_unlock(m)

        k.sched.spawn(k.new_task("reader"), reader)
        k.sched.spawn(k.new_task("writer"), writer)
        k.sched.run()


class Late(ToyProgram):
    """AB-BA that needs t1 to run ``steps`` scheduling points undisturbed
    and then be preempted exactly between its two locks.

    The shape PCT was made for (Burckhardt et al., ASPLOS 2010, section 2):
    a uniformly random scheduler lets t1 get that far with probability
    about 2^-steps, PCT with depth 2 about 1/(2k) per run."""

    name = "late"

    def __init__(self, steps: int = 20, lockdep: bool = False):
        super().__init__(lockdep)
        self.steps = steps

    def run(self, k: ToyKernel) -> None:
        a = mutex(k, lock_class_key("A"))
        b = mutex(k, lock_class_key("B"))

        def t1():
            for _ in range(self.steps):
                k.cond_resched()
            mutex_lock(a)
            k.cond_resched()
            mutex_lock(b)
            mutex_unlock(b)
            mutex_unlock(a)

        def t2():
            mutex_lock(b)
            mutex_lock(a)
            mutex_unlock(a)
            mutex_unlock(b)

        k.sched.spawn(k.new_task("t1"), t1)
        k.sched.spawn(k.new_task("t2"), t2)
        k.sched.run()


class Window(ToyProgram):
    """t1 gives way ``steps`` times, reads two flags, gives way once more
    and reads them again; t2 and t3 each set one.  A report if both were
    set inside t1's window and neither before it.

    The shape of a time-of-check/time-of-use race with two writers: t1 must
    not be stopped at its first ``steps`` yields and must be stopped at the
    last one long enough for both others to run."""

    name = "window"

    def __init__(self, steps: int = 4, lockdep: bool = False):
        super().__init__(lockdep)
        self.steps = steps

    def run(self, k: ToyKernel) -> None:
        flags = {"a": 0, "b": 0}

        def t1():
            for _ in range(self.steps):
                k.sched.yield_()
            before = dict(flags)
            k.sched.yield_()
            if before == {"a": 0, "b": 0} and flags == {"a": 1, "b": 1}:
                k.trace.report("bug", "both flags set inside t1's window\n")

        def setter(name):
            flags[name] = 1

        k.sched.spawn(k.new_task("t1"), t1)
        k.sched.spawn(k.new_task("t2"), setter, "a")
        k.sched.spawn(k.new_task("t3"), setter, "b")
        k.sched.run()


PROGRAMS = {p.name: p for p in (ABBA, Ordered, ReadWriteInversion, Late, Window)}
