"""Concurrent scenarios on the 6.18 model: together blocks, threads,
saving and replaying failures, and no report from today's kernel."""

import json
import random

import pytest

from anonvma.explore import explore, replay
from anonvma.explore.runner import check_determinism, execute, explore_program
from anonvma.explore.strategies import Dfs, Pct, Random
from anonvma.kernel import Linux
from anonvma.scenario import ScenarioError, parse
from anonvma.session import Config, Session
from anonvma.variants import VARIANTS

RACE = """\
P0 mmap 0 8
P0 write 0
P0 write 1
P0 fork P1
together
P0 fork P2
P1 write 2
P0 munmap 4 2
P1 mprotect 0 2 r
end
P2 write 0
"""


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


def concurrent_program(rng: random.Random, pressure: bool = False) -> str:
    """A random plain prefix, then a together block of 2-3 lines.  With
    ``pressure``, a small zone with swap, most of it already written, and
    writers in the block: direct reclaim and kswapd run beside the rest."""
    from anonvma.explore.programs import random_scenario
    lines = random_scenario(rng.randrange(1 << 30), max_ops=12).splitlines()
    prefix = [ln for ln in lines if ln and not ln.startswith("#")]
    procs = ["P0"] + [ln.split()[2] for ln in prefix if ln.split()[1] == "fork"]
    ops = ["write 0", "write 3", "read 1", "munmap 2 2", "mprotect 0 3 r", "mmap 8 4",
           "madvise 0 4 pageout", "madvise 0 4 dontneed", "mremap 0 2 4"]
    block = [f"{rng.choice(procs)} {rng.choice(ops)}" for _ in range(rng.randrange(2, 4))]
    block.append(f"{rng.choice(procs)} fork C{rng.randrange(100)}")
    setup = ["P0 mmap 0 8", "P0 write 0"]
    if pressure:
        fill = rng.randrange(112, 124)
        setup = ["set memory 128", "set swap 256", "P0 mmap 100 120",
                 *(f"P0 write {100 + i}" for i in range(fill)), *setup]
        block += [f"P0 write {100 + fill + i}" for i in range(rng.randrange(2, 6))]
    return "\n".join([*setup, *prefix, "together", *block, "end", ""])


@pytest.mark.slow
@pytest.mark.parametrize("pressure", [False, True], ids=["plenty", "reclaim-beside"])
def test_generated_concurrent_scenarios_give_no_lockdep_report_and_no_deadlock(pressure):
    """The 6.18 model takes its locks in an order lockdep accepts, no
    interleaving hangs, and every invariant holds after every block, also
    with reclaim (direct and kswapd) running beside the other tasks."""
    rng = random.Random(2026)
    checked = 0
    for _ in range(40):
        text = concurrent_program(rng, pressure)
        try:
            sc = parse(text)
        except ScenarioError:
            continue
        for strategy in (Random(seed=checked), Pct(seed=checked, depth=2)):
            r = explore_program(Session(sc), strategy, budget_runs=25)
            assert r.failure is None, f"{text}\n{r.failure.text}"
        checked += 1
    assert checked >= 20
