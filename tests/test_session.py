"""One session for every command: a ``set`` key means the same to all of
them, and the checkers report the same problems in the same order."""

from __future__ import annotations

import pytest

from anonvma.explore import explore
from anonvma.explore.runner import execute
from anonvma.explore.strategies import Sequential
from anonvma.scenario import parse
from anonvma.session import Config, Session

FAIL_NTH = """\
set fail_nth 2
P0 mmap 0 4
P0 write 0
P0 fork P1
"""


def test_fail_nth_injects_the_same_failure_through_run_and_explore(tmp_path):
    scn = tmp_path / "nth.scn"
    scn.write_text(FAIL_NTH)
    run = Session(parse(FAIL_NTH, str(scn))).run()
    # the second allocation fail-nth counts (GFP_KERNEL ones are not: the
    # default ignore-gfp-wait) is the second AVC of fork's GFP_NOWAIT clones
    failed = [line for line in run.events if "!" in line]
    assert failed == ["P0 !AVC:clone/fork"]
    ex = execute(Session(parse(FAIL_NTH, str(scn))), Sequential())
    assert dict(ex.alloc_failures) == {"AVC:clone/fork": 1}
    r = explore(scn, strategy="sequential")
    assert r.failure is None and dict(r.alloc_failures) == {"AVC:clone/fork": 1}


def test_run_and_explore_see_the_same_reports_in_the_same_order(tmp_path):
    """A checker report from a step before any together block reaches both."""
    from anonvma.variants import VARIANTS
    from broken_eras import LeakyFork

    VARIANTS[LeakyFork.name] = LeakyFork
    try:
        text = "P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 1\n"
        run = Session(parse(text), Config(variant=LeakyFork.name)).run()
        ex = execute(Session(parse(text), Config(variant=LeakyFork.name)), Sequential())
        assert run.reports and run.reports == ex.reports
        assert run.reports[0][0] == "invariant" and "after line 3 (P0 fork P1)" in run.reports[0][1]
        assert "I-10" in run.reports[0][1]
    finally:
        del VARIANTS[LeakyFork.name]


def test_checks_off_changes_nothing_but_the_reports():
    text = "P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 0\nP0 munmap 0 2\n"
    on = Session(parse(text)).run()
    off = Session(parse(text), Config(checks=False, lockdep=False)).run()
    assert on.lines == off.lines and on.caches == off.caches


def test_trace_prints_failures_in_the_order_they_happen():
    run = Session(parse("P0 mmap 0 4\nP0 mprotect 8 1 r\nP0 write 0\nP0 maps\n")).run()
    assert run.lines.index("P0 !mprotect ENOMEM") < run.lines.index("P0 +AVC1:prep")
    assert run.events == [l for l in run.lines if l.split()[1][0] in "+-"]


def test_fault_injection_starts_after_boot():
    """Every slab allocation failing cannot stop the first process from
    existing: the knobs are written once the machine is up."""
    text = ("set failslab.probability 100\nset failslab.ignore_gfp_wait N\n"
            "set failslab.times -1\nP0 mmap 0 4\nP0 write 0\nP0 fork P1\n")
    run = Session(parse(text)).run()
    # P0 exists, with its stack; then nothing can be allocated any more
    assert run.lines == ["P0 !mmap ENOMEM", "P0 !write SIGSEGV", "P0 -AVpre1:put",
                         "P0 -AVCpre1:u2/pgt", "P0 !fork ESRCH"]


def test_a_together_block_needs_a_strategy():
    from anonvma.scenario import ScenarioError
    with pytest.raises(ScenarioError, match=":2: error: a together block needs a schedule"):
        Session(parse("P0 mmap 0 4\ntogether\nP0 write 0\nend\n")).run()


PRESSURE = "\n".join([
    "set memory 128", "set swap 256", "P0 mmap 100 120",
    *(f"P0 write {100 + i}" for i in range(116)),
    "P0 mmap 0 8", "P0 write 0", "P0 fork P1",
    "together", "P1 write 1", "P0 write 217", "P0 write 218", "P0 fork P2", "end", ""])


def test_a_finished_run_keeps_no_machine_alive():
    """A task's greenlet waits among the idle ones for the next run's tasks
    (explore.scheduler): it must not keep the task it ran, and with it that
    run's whole machine, alive."""
    import gc
    import weakref

    from anonvma.explore.strategies import Pct

    kernels = []

    class Watched(Session):
        def boot(self):
            m = super().boot()
            kernels.append(weakref.ref(m.kernel))
            return m

    program = Watched(parse(PRESSURE))
    for seed in range(3):
        strategy = Pct(seed=seed)
        strategy.new_execution()
        assert execute(program, strategy).failure is None
    gc.collect()
    assert len(kernels) == 3 and all(k() is None for k in kernels)


def test_an_exploration_stays_flat():
    """Every task of a run ends or is thrown away with it, kswapd too: the
    number of live kernel objects does not grow over 1,000 runs of a
    pressure scenario."""
    import gc

    from anonvma.explore.runner import explore_program
    from anonvma.explore.strategies import Pct
    from anonvma.kernel import Linux

    session = Session(parse(PRESSURE))

    def live():
        gc.collect()
        objects = gc.get_objects()
        return (sum(1 for o in objects if isinstance(o, Linux)),
                sum(1 for o in objects if type(o).__name__ == "greenlet"))

    # the scenario wakes kswapd: a daemon task that outlives its blocks
    from anonvma.explore.runner import execute
    wakeups = []

    class Watched(Session):
        def boot(self):
            m = super().boot()
            m.kernel.trace.mm_vmscan_wakeup_kswapd.register(lambda *a: wakeups.append(a))
            return m

    assert execute(Watched(parse(PRESSURE)), Pct(seed=1)).failure is None and wakeups
    r = explore_program(session, Pct(seed=1), budget_runs=50)
    assert r.failure is None, r.failure.text
    before = live()
    r = explore_program(session, Pct(seed=2), budget_runs=1000)
    assert r.failure is None and r.runs == 1000
    after = live()
    assert after[0] <= before[0] and after[1] <= before[1] + 1, (before, after)
