"""The explorer's scheduler (and the kernel's sequential one) and the
locks' wait queues, on a toy kernel."""

import inspect
import sys

import pytest

from anonvma.explore.runner import execute
from anonvma.explore.strategies import Dfs, Replay, Sequential
from toy import ToyKernel, ToyProgram
from anonvma.kernel.kernel.locking.lock import lock_class_key
from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_unlock
from anonvma.kernel.kernel.locking.rwsem import (
    down_read, down_read_trylock, down_write, rw_semaphore, up_read, up_write,
)
from anonvma.explore.schedule import Pick
from anonvma.explore.scheduler import Scheduler
from anonvma.kernel.kernel.sched.core import HungTask, SequentialScheduler


def test_sequential_scheduler_runs_in_order_without_greenlets():
    k = ToyKernel()
    order = []
    tasks = [k.new_task(f"t{i}") for i in range(3)]
    for t in tasks:
        k.sched.spawn(t, lambda: (order.append(k.current.comm), k.cond_resched()))
    k.sched.run()
    assert order == ["t0", "t1", "t2"]
    assert all(t.thread is None for t in tasks)
    assert k.current.comm == "init"


def test_sequential_wait_is_a_hung_task_report():
    k = ToyKernel()
    reports = []
    k.trace.report.register(lambda kind, text: reports.append((kind, text)))
    m = mutex(k, lock_class_key("M"))
    mutex_lock(m)
    k.current = k.new_task("other")
    with pytest.raises(HungTask) as e:
        mutex_lock(m)
    assert reports[0][0] == "hung_task"
    assert "INFO: task other:2 blocked for more than 120 seconds." in e.value.report
    assert "is blocked on a mutex (M) likely owned by task init:1." in e.value.report


def greenlet_kernel(strategy):
    k = ToyKernel(lockdep=False)
    k.sched = Scheduler(k, strategy)
    return k


def picks(*pids):
    """A schedule of task picks (lenient replay needs only the pids)."""
    return [Pick(pid, (), None) for pid in pids]


def test_one_runnable_task_never_switches():
    k = greenlet_kernel(Sequential())
    m = mutex(k, lock_class_key("M"))

    def body():
        for _ in range(10):
            mutex_lock(m)
            k.cond_resched()
            mutex_unlock(m)

    k.sched.spawn(k.new_task("only"), body)
    k.sched.run()
    assert k.sched.nr_switches == 1         # the hub starting it
    assert k.sched.decisions == []


def every_run(make_program, max_preemptions=2):
    """Run a program under every schedule with up to ``max_preemptions``;
    yield each run's program object (which recorded what it saw)."""
    dfs = Dfs(max_preemptions=max_preemptions)
    runs = 0
    while dfs.new_execution():
        program = make_program()
        ex = execute(program, dfs)
        assert ex.failure is None, ex.failure.text
        runs += 1
        yield program
    assert runs > 1


class Program(ToyProgram):
    def __init__(self):
        super().__init__(lockdep=False)
        self.seen = []


class ReadersAndWriter(Program):
    """r1 reads, w writes, r2 reads: r2 must not overtake a queued w."""

    def run(self, k):
        sem = rw_semaphore(k, lock_class_key("R"))
        seen = self.seen

        def reader():
            if any(not w.read for w in sem.wait_list):
                seen.append(f"{k.current.comm} sees writer queued")
                assert not down_read_trylock(sem)
            down_read(sem)
            seen.append(f"{k.current.comm} in")
            k.cond_resched()
            up_read(sem)

        def writer():
            down_write(sem)
            seen.append("w in")
            k.cond_resched()
            up_write(sem)

        for comm, fn in (("r1", reader), ("w", writer), ("r2", reader)):
            k.sched.spawn(k.new_task(comm), fn)
        k.sched.run()


def test_queued_writer_blocks_new_readers():
    covered = 0
    for p in every_run(ReadersAndWriter):
        for r in ("r1", "r2"):
            if f"{r} sees writer queued" in p.seen:
                covered += 1
                assert p.seen.index("w in") < p.seen.index(f"{r} in"), p.seen
    assert covered


class WriterAndReaders(Program):
    """When w releases, every queued reader gets the lock at once."""

    def run(self, k):
        sem = rw_semaphore(k, lock_class_key("R"))

        def writer():
            down_write(sem)
            k.cond_resched()
            queued = sum(1 for w in sem.wait_list if w.read)
            up_write(sem)
            self.seen.append((queued, sem.readers))

        def reader():
            down_read(sem)
            k.cond_resched()
            up_read(sem)

        k.sched.spawn(k.new_task("w"), writer)
        for i in range(2):
            k.sched.spawn(k.new_task(f"r{i}"), reader)
        k.sched.run()


def test_queued_readers_are_woken_together():
    outcomes = {seen for p in every_run(WriterAndReaders) for seen in p.seen}
    assert (2, 2) in outcomes
    assert all(queued == readers for queued, readers in outcomes)


class ThreeOnAMutex(Program):
    def run(self, k):
        m = mutex(k, lock_class_key("M"))
        k.trace.lock_contended.register(lambda lock, ip: self.seen.append(("wait", k.current.comm)))
        k.trace.lock_acquired.register(lambda lock, ip: self.seen.append(("got", k.current.comm)))

        def body():
            mutex_lock(m)
            k.cond_resched()
            mutex_unlock(m)

        for comm in ("a", "b", "c"):
            k.sched.spawn(k.new_task(comm), body)
        k.sched.run()


def test_mutex_waiters_are_served_in_fifo_order():
    two_waiters = 0
    for p in every_run(ThreeOnAMutex):
        waited = [comm for what, comm in p.seen if what == "wait"]
        got = [comm for what, comm in p.seen if what == "got"]
        assert waited == got
        two_waiters += len(waited) == 2
    assert two_waiters


def test_exception_in_a_task_unwinds_the_others():
    k = greenlet_kernel(Sequential())
    m = mutex(k, lock_class_key("M"))
    unwound = []

    def holder():
        mutex_lock(m)
        try:
            k.cond_resched()
            k.cond_resched()
        finally:
            unwound.append("holder")

    def crasher():
        raise RuntimeError("VM_BUG_ON")

    k.sched.spawn(k.new_task("holder"), holder)
    k.sched.spawn(k.new_task("crasher"), crasher)
    # holder starts and takes the mutex, then is preempted by crasher.
    k.sched.strategy = Replay(picks(2, 2, 3))
    with pytest.raises(RuntimeError):
        k.sched.run()
    assert unwound == ["holder"]
    assert k.current.comm == "init"


def test_idle_daemon_is_not_a_hang_and_survives_to_the_next_run():
    k = greenlet_kernel(Sequential())
    work = []
    woken = []

    def kswapd():
        while True:
            k.sched.wait_for("kswapd_wait", lambda: bool(work))
            woken.append(work.pop())

    k.sched.spawn(k.new_task("kswapd0"), kswapd, daemon=True)
    k.sched.spawn(k.new_task("user"), lambda: work.append(1))
    k.sched.run()
    k.sched.spawn(k.new_task("user2"), lambda: work.append(2))
    k.sched.run()
    assert woken == [1, 2]


class RecursiveRead(ToyProgram):
    """down_read twice with a writer queued in between: the rwsem deadlock
    that lockdep's "recursive locking" warns about."""

    name = "recursive-read"

    def run(self, k):
        sem = rw_semaphore(k, lock_class_key("R"))

        def reader():
            down_read(sem)
            k.cond_resched()
            down_read(sem)
            up_read(sem)
            up_read(sem)

        def writer():
            down_write(sem)
            up_write(sem)

        k.sched.spawn(k.new_task("reader"), reader)
        k.sched.spawn(k.new_task("writer"), writer)
        k.sched.run()


def test_recursive_read_deadlocks_behind_a_queued_writer():
    # reader takes R and is preempted; writer queues; reader reads again.
    ex = execute(RecursiveRead(lockdep=False), Replay(picks(2, 2, 3)))
    text = ex.failure.text
    assert ex.failure.kind == "hung_task"
    assert "INFO: task reader:2 <reader> is blocked on an rw-semaphore (R) likely owned by " \
           "task reader:2 <reader>." in text
    assert "reader:2 waits for R queued before it: writer:3\n" \
           "  writer:3 waits for R held for read by reader:2\n" in text


def test_hung_task_report_lists_locks_held_when_lockdep_is_on():
    ex = execute(RecursiveRead(lockdep=True), Replay(picks(2, 2, 3)))
    kinds = [kind for kind, _ in ex.reports]
    assert kinds == ["lockdep", "hung_task"]
    # As in the kernel, a lock being waited for is already on the stack.
    assert "2 locks held by reader/2:\n #0: (R){++++}-{3:3}, at: reader\n" \
           " #1: (R){++++}-{3:3}, at: reader\n1 lock held by writer/3:\n" in ex.reports[1][1]


def test_sequential_scheduler_has_the_same_interface():
    for name in ("spawn", "run", "wait_for", "might_sleep", "cond_resched", "yield_", "choose",
                 "task_frame", "shutdown"):
        assert callable(getattr(SequentialScheduler, name))
        assert callable(getattr(Scheduler, name))


def test_greenlets_are_reused_across_runs_without_growing_the_stack():
    """Run after run, the tasks run in the same idle greenlets (their
    number is that of the tasks of one block), and a run needs no deeper
    Python stack than the first."""
    from anonvma.explore import scheduler
    from anonvma.explore.strategies import Random
    from anonvma.scenario import parse
    from anonvma.session import Config, Session
    race = ("P0 mmap 0 8\nP0 write 0\nP0 fork P1\ntogether\nP0 fork P2\nP1 write 2\n"
            "P0 munmap 4 2\nP1 mprotect 0 2 r\nP0 write 1\nend\n")
    program = Session(parse(race), Config(trace=False))
    strategy = Random(seed=4)
    pool = None
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 150)     # a run needs about 100 more
    try:
        for _ in range(600):
            strategy.new_execution()
            ex = execute(program, strategy)
            assert ex.failure is None, ex.failure.text
            pool = pool or set(scheduler._idle)
            assert set(scheduler._idle) == pool and len(pool) >= 5     # five tasks in the block
    finally:
        sys.setrecursionlimit(limit)
