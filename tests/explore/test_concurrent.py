"""Concurrent scenarios on the 6.18 model: together blocks, threads,
saving and replaying failures, and no report from today's kernel."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonvma.demo import example
from anonvma.explore import explore, replay
from anonvma.explore.runner import check_determinism, execute, explore_program
from anonvma.explore.strategies import Dfs, Pct
from anonvma.kernel import Linux
from anonvma.scenario import ScenarioError, parse
from anonvma.session import Config, Session
from anonvma.testing import check_scenario, concurrent_scenarios
from anonvma.variants import VARIANTS

RACE = example("fork_beside_munmap_and_mprotect.scn").read_text()


def write(tmp_path, text, name="race.scn"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("strategy", ["sequential", "random", "pct", "dfs"])
def test_the_618_model_is_clean_under_every_strategy(tmp_path, strategy):
    r = explore(write(tmp_path, RACE), strategy=strategy, budget_runs=60, seed=3)
    assert r.failure is None, r.failure.text
    assert r.runs == (1 if strategy == "sequential" else 60)


def test_two_lines_of_one_process_run_as_two_threads(tmp_path):
    sc = parse("P0 mmap 0 4\ntogether\nP0 write 0\nP0 write 1\nend\nP0 maps\n")
    seen = []

    class Spy(Session):
        def boot(self):
            m = super().boot()
            m.kernel.trace.page_fault_user.register(
                lambda task, addr, write: seen.append((task.pid, task.mm)))
            return m

    ex = execute(Spy(sc), Dfs())
    assert ex.failure is None
    (pid_a, mm_a), (pid_b, mm_b) = seen
    assert pid_a != pid_b and mm_a is mm_b


def test_a_thread_cannot_exit_in_its_block():
    sc = parse("P0 mmap 0 4\ntogether\nP0 write 0\nP0 exit\nend\n")
    with pytest.raises(ScenarioError, match="<scenario>:4: error: .* cannot exit"):
        Session(sc)


class DoubleRead(Linux):
    """A buggy era: the fault handler takes mmap_lock for read twice."""

    name = "test-double-read"

    def handle_user_access(self, address, write):
        self.mmap_read_lock(self.current.mm)
        try:
            self.cond_resched()
            return super().handle_user_access(address, write)
        finally:
            self.mmap_read_unlock(self.current.mm)


@pytest.fixture
def double_read(monkeypatch):
    monkeypatch.setitem(VARIANTS, DoubleRead.name, DoubleRead)
    return DoubleRead.name


DEADLOCK = """\
P0 mmap 0 4
together
P0 write 0
P0 mprotect 2 1 r
end
"""


def test_lockdep_flags_the_double_read_in_a_plain_run(tmp_path, double_read):
    r = explore(write(tmp_path, "P0 mmap 0 4\nP0 write 0\n"), strategy="sequential",
                variant=double_read)
    assert r.failure.kind == "lockdep"
    assert "possible recursive locking detected" in r.failure.text
    assert "(&mm->mmap_lock)" in r.failure.text


def test_dfs_finds_saves_and_replays_the_deadlock(tmp_path, double_read):
    scn = write(tmp_path, DEADLOCK)
    # Without lockdep the first failure is the hang itself.
    program = Session(parse(DEADLOCK, str(scn)), Config(variant=double_read, lockdep=False))
    r = explore_program(program, Dfs(max_preemptions=1))
    assert r.failure.kind == "hung_task"
    assert "&mm->mmap_lock" in r.failure.text
    check_determinism(program, r.schedule)

    r = explore(scn, strategy="dfs", variant=double_read, out_dir=tmp_path / "out")
    assert r.failure.kind == "lockdep" and r.saved["deterministic"]
    saved = json.loads(open(r.saved["schedule"]).read())
    assert saved["decisions"] == [d.to_json() for d in r.schedule]
    assert saved["variant"] == double_read
    again = replay(r.saved["scenario"], r.saved["schedule"], variant=double_read)
    assert again.failure.text == r.failure.text


def test_pct_finds_the_deadlock_too(tmp_path, double_read):
    program = Session(parse(DEADLOCK), Config(variant=double_read, lockdep=False))
    r = explore_program(program, Pct(seed=0, depth=2), budget_runs=500)
    assert r.failure is not None and r.failure.kind == "hung_task"


@pytest.mark.slow
@pytest.mark.parametrize("pressure", [False, True], ids=["plenty", "reclaim-beside"])
def test_generated_concurrent_scenarios_give_no_lockdep_report_and_no_deadlock(pressure):
    """The 6.18 model takes its locks in an order lockdep accepts, no
    interleaving hangs, and every invariant holds after every block, also
    with reclaim (direct and kswapd) running beside the other tasks."""

    @settings(max_examples=20, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(concurrent_scenarios(pressure=pressure), st.integers(0, 1 << 16))
    def holds(text, seed):
        check_scenario(text, schedules=25, seed=seed)
    holds()
