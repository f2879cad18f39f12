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
