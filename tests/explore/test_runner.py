"""Budgets, the determinism self-check, shrinking and schedule files."""

import json
import random

import pytest

from anonvma.explore.runner import Nondeterminism, check_determinism, execute, explore_program
from anonvma.explore.schedule import Draw, Pick, ScheduleError, load_schedule, preemptions, \
    save_schedule
from anonvma.explore.shrink import shrink_schedule
from anonvma.explore.strategies import Random, Replay
from toy import ABBA, Ordered, ToyProgram


def test_budget_of_runs_and_seconds():
    r = explore_program(Ordered(lockdep=False), Random(seed=0), budget_runs=17)
    assert r.runs == 17 and r.failure is None and not r.exhausted
    r = explore_program(Ordered(lockdep=False), Random(seed=0), budget_seconds=0.05)
    assert r.runs >= 1 and r.seconds < 1


def test_same_schedule_same_run():
    ex = execute(Ordered(), Random(seed=4))
    a = check_determinism(Ordered(), ex.schedule)
    assert a.failure is None and a.events and a.schedule


# A generator outside the schedule, seeded so that the test is the same in
# every run, but drawn from anew in each of the program's runs.
UNCONTROLLED = random.Random(2026)


class Flaky(ToyProgram):
    """Takes a lock a number of times decided outside the schedule."""

    name = "flaky"

    def run(self, k):
        from anonvma.kernel.kernel.locking.lock import lock_class_key
        from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_unlock
        m = mutex(k, lock_class_key("M"))

        def body():
            for _ in range(UNCONTROLLED.randrange(1, 4)):
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
    small = shrink_schedule(execute, ABBA(lockdep=False), r.schedule, "hung_task")
    ex = execute(ABBA(lockdep=False), Replay(small))
    assert ex.failure.kind == "hung_task"
    assert (preemptions(ex.schedule), len(small)) <= (preemptions(r.schedule), len(r.schedule))
    # AB-BA needs exactly one preemption (t1 between its two locks).
    assert preemptions(ex.schedule) == 1


def test_schedule_file_round_trip(tmp_path):
    p = tmp_path / "schedule.json"
    decisions = [Pick(2, (2, 3), None), Draw(1, 4), Pick(3, (2, 3), 2)]
    save_schedule(p, decisions, strategy={"strategy": "pct"}, variant="v6.18")
    assert load_schedule(p) == (decisions, {"strategy": {"strategy": "pct"}, "variant": "v6.18"})
    assert json.loads(p.read_text())["format"] == "anonvma-schedule/2"


@pytest.mark.parametrize("text, message", [
    ('{"format": "anonvma-schedule/2", "decisions": ["x"]}', "decision 0: expected"),
    ('{"format": "anonvma-schedule/2", "decisions": [{"pick": -1, "runnable": []}]}',
     "decision 0: pick must be a whole number"),
    ('{"format": "anonvma-schedule/1", "choices": [2, 3]}', "anonvma-schedule/1"),
    ("[2, 3]", "not a schedule file"),
    ("[" * 100000 + "]" * 100000, "not a schedule file"),
    ("{", "not a schedule file"),
])
def test_bad_schedule_files_are_named_errors(tmp_path, text, message):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(ScheduleError, match=f"bad.json:\\d+: error: .*{message}"):
        load_schedule(bad)


def test_shrinking_runs_no_more_lines_than_the_search(nonowait, monkeypatch):
    """Shrinking runs at most as many scenario lines as the search that
    found the failure did (here with a floor below the search's lines): the
    search runs the prefix once and the lines after it in every run, a
    shrinking candidate all of its own lines.  Besides that, only the
    replays that check what it kept; the result is the same kind of failure
    with no more preemptions, at every machine load (no seconds budget)."""
    import anonvma.explore as explore_mod
    from anonvma.demo import example
    from anonvma.explore.prefix import Prefixed
    from anonvma.scenario import Together, parse_file

    scn = example("reclaim_beside_fork.scn")
    sc = parse_file(str(scn))
    first = next(s for s in sc.steps if isinstance(s, Together))
    per_run, total = sc.lines_after(first.lineno - 1), sc.lines_after()
    assert 0 < per_run < total          # a prefix the search runs once
    calls = []

    def counting(program, strategy, events=False):
        calls.append(program)
        return execute(program, strategy, events)

    def lines(program):
        return per_run if isinstance(program, Prefixed) else program.sc.lines_after()

    monkeypatch.setattr(explore_mod, "execute", counting)
    monkeypatch.setattr(explore_mod, "SHRINK_MIN_LINES", 2)
    found = explore_mod.explore(scn, strategy="pct", seed=2, variant=nonowait, minimise=False,
                                progress=False)
    search_lines = total - per_run + found.runs * per_run
    calls.clear()
    r = explore_mod.explore(scn, strategy="pct", seed=2, variant=nonowait, progress=False)
    assert r.failure.kind == found.failure.kind == "lockdep"
    assert r.runs == found.runs > 2
    # after shrinking: the replays of the small schedule, of the shrunk
    # scenario, and of the full schedule
    shrinking = calls[:-3]
    assert shrinking and sum(lines(p) for p in shrinking) <= search_lines
    assert preemptions(r.schedule) <= preemptions(found.schedule)


def test_delete_lines_keeps_exactly_the_lines_the_failure_needs():
    """Delta debugging over operation lines: ``set`` lines and comments
    stay, every line the predicate does not need goes."""
    from anonvma.explore.shrink import delete_lines

    text = "# a comment\nset memory 64\n" + "".join(f"P0 mmap {2 * i} 1\n" for i in range(16))
    needed = {"P0 mmap 6 1", "P0 mmap 20 1"}
    tried = []

    def still_fails(sc, cand):
        tried.append(cand)
        return needed <= set(cand.splitlines())

    small = delete_lines(text, still_fails)
    assert small.splitlines() == ["# a comment", "set memory 64", "P0 mmap 6 1", "P0 mmap 20 1"]
    assert 0 < len(tried) < 16 * 4
    # a budget stops it early, with what it reached so far still failing
    tried.clear()
    early = delete_lines(text, still_fails, max_runs=3)
    assert len(tried) == 3 and needed <= set(early.splitlines())
