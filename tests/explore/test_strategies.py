"""Every strategy, on the toy programs: who finds what, and how fast."""

import pytest

from anonvma.explore.runner import execute, explore_program
from anonvma.explore.strategies import Dfs, Pct, Random, Replay, Sequential, make_strategy
from toy import ABBA, Late, Ordered, ReadWriteInversion, ToyProgram


def test_sequential_runs_once_and_never_deadlocks_abba():
    r = explore_program(ABBA(lockdep=False), Sequential())
    assert r.runs == 1 and r.exhausted and r.failure is None


def test_lockdep_sees_abba_without_any_deadlock():
    # The point of lockdep: a sequential run that never deadlocks is enough.
    r = explore_program(ABBA(), Sequential())
    assert r.failure.kind == "lockdep"
    assert "possible circular locking dependency" in r.failure.text


@pytest.mark.parametrize("program", [ABBA, ReadWriteInversion])
def test_dfs_finds_the_real_deadlock(program):
    r = explore_program(program(lockdep=False), Dfs(max_preemptions=1))
    assert r.failure.kind == "hung_task"
    assert "Deadlock: these tasks wait for each other:" in r.failure.text


def test_dfs_with_no_preemptions_is_one_run_per_start_order():
    r = explore_program(ABBA(lockdep=False), Dfs(max_preemptions=0))
    # Who starts first is a free choice (2 orders); then nobody is preempted.
    assert r.failure is None and r.exhausted and r.runs == 2


def test_dfs_explores_more_with_a_bigger_bound_and_terminates():
    runs = []
    for bound in (0, 1, 2):
        r = explore_program(Ordered(nr_tasks=2, nr_locks=2, iterations=2, lockdep=False),
                            Dfs(max_preemptions=bound))
        assert r.failure is None and r.exhausted
        runs.append(r.runs)
    assert runs[0] < runs[1] < runs[2]


def test_dfs_schedules_are_all_distinct():
    dfs = Dfs(max_preemptions=2)
    seen = set()
    while dfs.new_execution():
        ex = execute(Ordered(nr_tasks=2, nr_locks=1, iterations=2, lockdep=False), dfs)
        seen.add(tuple(ex.schedule))
    assert len(seen) == dfs.executions


def test_random_finds_abba_deadlock_and_is_seeded():
    a = explore_program(ABBA(lockdep=False), Random(seed=7), budget_runs=200)
    b = explore_program(ABBA(lockdep=False), Random(seed=7), budget_runs=200)
    assert a.failure.kind == "hung_task"
    assert (a.runs, a.schedule) == (b.runs, b.schedule)


def test_pct_finds_the_late_bug_that_random_search_misses():
    """The PCT paper's point: random scheduling almost never lets t1 run 20
    steps undisturbed (about 2^-20 per run); PCT does it in ~1/(2k) runs."""
    pct = explore_program(Late(steps=20), Pct(seed=1, depth=2), budget_runs=300)
    rnd = explore_program(Late(steps=20), Random(seed=1), budget_runs=300)
    assert pct.failure is not None and pct.failure.kind == "hung_task"
    assert pct.runs < 300
    assert rnd.failure is None


def test_dfs_finds_the_late_bug_with_one_preemption():
    r = explore_program(Late(steps=20), Dfs(max_preemptions=1))
    assert r.failure is not None and r.failure.kind == "hung_task"


def test_pct_depth_one_is_a_fixed_priority_order_per_run():
    # Without change points PCT never preempts a runnable higher-priority
    # task: ABBA cannot deadlock then.
    r = explore_program(ABBA(lockdep=False), Pct(seed=3, depth=1), budget_runs=50)
    assert r.failure is None


def test_pct_takes_a_range_of_depths_in_turn():
    """Run i of PCT over depths 1-3 is run i of PCT with depth 1 + i mod 3:
    the same priorities and change points."""
    mixed = Pct(seed=4, depth=(1, 3))
    fixed = {d: Pct(seed=4, depth=d) for d in (1, 2, 3)}
    for i in range(9):
        mixed.new_execution()
        for p in fixed.values():
            p.new_execution()
        d = 1 + i % 3
        assert mixed.depth == d
        assert mixed.change_points == fixed[d].change_points
        assert len(mixed.change_points) <= d - 1
    assert mixed.describe()["depth"] == "1-3" and fixed[2].describe()["depth"] == 2


def test_pct_over_a_range_finds_what_its_deepest_depth_finds():
    # ABBA needs one preemption: depth 1 alone never finds it (above)
    r = explore_program(ABBA(lockdep=False), Pct(seed=3, depth=(1, 2)), budget_runs=200)
    assert r.failure is not None and r.failure.kind == "hung_task"
    with pytest.raises(ValueError):
        Pct(depth=(3, 1))


def test_replay_repeats_a_failing_run():
    r = explore_program(ABBA(lockdep=False), Random(seed=1), budget_runs=500)
    ex = execute(ABBA(lockdep=False), Replay(r.schedule, strict=True))
    assert ex.failure.text == r.failure.text
    assert ex.schedule == r.schedule


def test_lenient_replay_repairs_and_strict_replay_refuses():
    from anonvma.explore.schedule import Draw, Pick
    from anonvma.explore.strategies import ScheduleMismatch
    foreign = [Pick(99, (99,), None), Draw(1, 7)]
    replay = Replay(foreign)
    replay.new_execution()
    ex = execute(ABBA(lockdep=False), replay)
    assert ex.failure is None
    assert not replay.fits() and "task 99 is not runnable" in replay.mismatch
    with pytest.raises(ScheduleMismatch, match="decision 0: task 99 is not runnable"):
        execute(ABBA(lockdep=False), Replay(foreign, strict=True))
    # the decisions of a run replay exactly, and fit
    ex = execute(ABBA(lockdep=False), Random(seed=1))
    again = Replay(ex.schedule)
    again.new_execution()
    assert execute(ABBA(lockdep=False), again).schedule == ex.schedule and again.fits()


def test_make_strategy_by_name():
    assert isinstance(make_strategy("pct", seed=3, depth=2), Pct)
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("chess")


class Choices(ToyProgram):
    """One modelled random choice per task: which of three pages to touch."""

    name = "choices"

    def run(self, k):
        picked = self.picked = []
        for i in range(2):
            k.sched.spawn(k.new_task(f"t{i}"), lambda: picked.append(k.sched.choose(3)))
        k.sched.run()


def test_dfs_enumerates_modelled_choices_and_replay_repeats_them():
    dfs = Dfs(max_preemptions=0)
    outcomes = set()
    while dfs.new_execution():
        p = Choices(lockdep=False)
        ex = execute(p, dfs)
        outcomes.add(tuple(p.picked))
    assert outcomes == {(a, b) for a in range(3) for b in range(3)}
    p = Choices(lockdep=False)
    ex = execute(p, Random(seed=5))
    q = Choices(lockdep=False)
    execute(q, Replay(ex.schedule, strict=True))
    assert q.picked == p.picked


def test_contend_is_seeded_and_its_runs_replay():
    from toy import Window
    from anonvma.explore.strategies import Contend
    a = [execute(Window(), s).schedule for s in _runs(Contend(seed=5), 20)]
    b = [execute(Window(), s).schedule for s in _runs(Contend(seed=5), 20)]
    c = [execute(Window(), s).schedule for s in _runs(Contend(seed=6), 20)]
    assert a == b and a != c
    assert make_strategy("contend", seed=2, noise=0.5).describe() == {
        "strategy": "contend", "seed": 2, "depth": 1, "execution": -1, "noise": 0.5}
    for noise in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match="probability"):
            Contend(noise=noise)


def _runs(strategy, n):
    for _ in range(n):
        assert strategy.new_execution()
        yield strategy


def test_contend_keeps_a_yielding_task_running_unless_it_delays_it():
    """PCT lowers a task at every yield, so t1 of Window is always stopped at
    its first one, after which t2 and t3 run to their end: the window never
    opens.  contend delays a task at a yield with probability ``noise`` and
    otherwise leaves it running: t1 highest (1 run in 3), not delayed at its
    4 first yields and delayed at the fifth, 1/3 * 0.75^4 * 0.25 = 2.6 % of
    the runs at the default noise."""
    from toy import Window
    from anonvma.explore.strategies import Contend
    pct = explore_program(Window(), Pct(seed=1, depth=2), budget_runs=300)
    assert pct.failure is None
    r = explore_program(Window(), Contend(seed=1), budget_runs=300)
    assert r.failure is not None and r.failure.kind == "bug"
    hits = sum(execute(Window(), s).failure is not None for s in _runs(Contend(seed=3), 1000))
    assert 10 <= hits <= 50         # 26 expected
    # the failing run replays from its schedule alone, decision for decision
    ex = execute(Window(), Replay(r.schedule, strict=True))
    assert ex.failure.text == r.failure.text and ex.schedule == r.schedule
    # a noise too small to be drawn: t1 is never preempted at a yield
    quiet = Contend(seed=1, noise=1e-12)
    assert all(not any(d.preempting for d in execute(Window(), s).schedule)
               for s in _runs(quiet, 50))


class Waiter(ToyProgram):
    """``holder`` takes mutex M across a yield and a scheduling point, ``waiter``
    takes it, ``other`` has three scheduling points of its own; each logs
    its end (the waiter's is once it holds M)."""

    name = "waiter"

    def run(self, k):
        from anonvma.kernel.kernel.locking.lock import lock_class_key
        from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_unlock
        m = mutex(k, lock_class_key("M"))
        log = self.log = []
        self.contended = []
        k.trace.lock_contended.register(lambda lock, ip: self.contended.append(k.current.comm))

        def holder():
            mutex_lock(m)
            k.sched.yield_()
            k.cond_resched()
            mutex_unlock(m)
            log.append("holder")

        def waiter():
            mutex_lock(m)
            log.append("waiter")
            mutex_unlock(m)

        def other():
            for _ in range(3):
                k.cond_resched()
            log.append("other")

        for fn in (holder, waiter, other):
            k.sched.spawn(k.new_task(fn.__name__), fn)
        k.sched.run()


def test_contend_delays_a_waiter_behind_the_holder_and_every_other_task():
    """With noise 1 (and no change points) the holder is delayed where it
    yields inside its critical section, and a task that then blocks on the
    mutex is delayed at once: granted the mutex at the holder's unlock, it
    still runs only after the holder and the other task have ended.  With a
    noise too small to be drawn, preempted only at change points, it keeps
    its priority and, above the other task's, goes first."""
    from anonvma.explore.strategies import Contend

    def contended_runs(noise, depth):
        for s in _runs(Contend(seed=0, noise=noise, depth=depth), 300):
            p = Waiter(lockdep=False)
            assert execute(p, s).failure is None
            if p.contended == ["waiter"]:
                yield p.log

    delayed = list(contended_runs(1.0, 1))
    assert delayed and all(log[-1] == "waiter" for log in delayed)
    kept = list(contended_runs(1e-12, 3))
    assert ["holder", "waiter", "other"] in kept
