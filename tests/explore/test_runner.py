"""Budgets, the determinism self-check, shrinking and schedule files."""

import json
import random

import pytest

from anonvma.explore.runner import (
    Nondeterminism, check_determinism, execute, explore_program, preemptions, shrink,
)
from anonvma.explore.schedule import load_schedule, save_schedule
from anonvma.explore.strategies import Random, Replay
from anonvma.explore.toy import ABBA, Ordered, ToyProgram


def test_budget_of_runs_and_seconds():
    r = explore_program(Ordered(lockdep=False), Random(seed=0), budget_runs=17)
    assert r.runs == 17 and r.failure is None and not r.exhausted
    r = explore_program(Ordered(lockdep=False), Random(seed=0), budget_seconds=0.05)
    assert r.runs >= 1 and r.seconds < 1


def test_same_schedule_same_run():
    ex = execute(Ordered(), Random(seed=4))
    a = check_determinism(Ordered(), ex.schedule)
    assert a.failure is None and a.events and a.log


class Flaky(ToyProgram):
    """Takes a lock a number of times decided outside the schedule."""

    name = "flaky"

    def run(self, k):
        from anonvma.kernel.kernel.locking.lock import lock_class_key
        from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_unlock
        m = mutex(k, lock_class_key("M"))

        def body():
            for _ in range(random.randrange(1, 4)):
                mutex_lock(m)
                mutex_unlock(m)

        for i in range(2):
            k.sched.spawn(k.new_task(f"t{i}"), body)
        k.sched.run()


def test_determinism_check_catches_uncontrolled_randomness():
    ex = execute(Flaky(), Random(seed=2))
    with pytest.raises(Nondeterminism):
        for _ in range(20):
            check_determinism(Flaky(), ex.schedule)


def test_shrink_keeps_the_failure_with_fewer_preemptions():
    r = explore_program(ABBA(lockdep=False), Random(seed=11), budget_runs=500)
    assert r.failure.kind == "hung_task"
    small = shrink(ABBA(lockdep=False), r.schedule, "hung_task")
    ex = execute(ABBA(lockdep=False), Replay(small), log=True)
    assert ex.failure.kind == "hung_task"
    before = execute(ABBA(lockdep=False), Replay(r.schedule), log=True)
    assert (preemptions(ex.log), len(small)) <= (preemptions(before.log), len(r.schedule))
    # AB-BA needs exactly one preemption (t1 between its two locks).
    assert preemptions(ex.log) == 1


def test_schedule_file_round_trip(tmp_path):
    p = tmp_path / "schedule.json"
    save_schedule(p, [2, 3, 2], strategy={"strategy": "pct"})
    assert load_schedule(p) == [2, 3, 2]
    assert json.loads(p.read_text())["format"] == "anonvma-schedule/1"
    bad = tmp_path / "bad.json"
    bad.write_text('{"choices": ["x"]}')
    with pytest.raises(ValueError, match="bad.json:1: error"):
        load_schedule(bad)
