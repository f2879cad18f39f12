"""The seed, end to end: "mm: avoid anon_vma_chain allocation under anon_vma
lock" (Linux 3.0).  On v3.0-rc2 a fork under memory pressure makes lockdep
report the RECLAIM_FS inversion and, in some schedules, deadlocks for real;
v3.0 survives the same workload and the same exploration, falling back from
GFP_NOWAIT to GFP_KERNEL with the lock dropped."""

from __future__ import annotations

import pathlib

import pytest

from anonvma.explore import explore, replay
from anonvma.demo import example
from anonvma.explore.runner import execute
from anonvma.explore.strategies import Replay
from anonvma.scenario import parse
from anonvma.session import Config, Session

SEED = example("seed_fork_under_pressure.scn")
WINDOW = example("seed_fallback_window.scn")


@pytest.fixture(scope="module")
def deadlock(tmp_path_factory):
    """What exploration finds on v3.0-rc2: the failure and its two files."""
    result = explore(SEED, strategy="pct", seed=2, budget_runs=400,
                     out_dir=tmp_path_factory.mktemp("failures"), progress=False)
    assert result.failure is not None, "exploration found no deadlock on v3.0-rc2"
    return result


def rerun(deadlock, variant: str, lockdep: bool):
    """The saved failing scenario and schedule, on ``variant``, with or
    without lockdep (the scenario says 'set lockdep off')."""
    text = pathlib.Path(deadlock.saved["scenario"]).read_text()
    text = text.replace("set lockdep off", f"set lockdep {'on' if lockdep else 'off'}")
    program = Session(parse(text, "seed.scn"), Config(variant=variant, checks=False))
    return execute(program, Replay(deadlock.schedule))


def test_exploration_finds_the_deadlock_and_it_replays(deadlock):
    assert deadlock.failure.kind == "hung_task"
    text = deadlock.failure.text
    assert "&anon_vma->mutex" in text and "anon_vma_clone" in text and "page_lock_anon_vma" in text
    # the call trace names kernel functions, from schedule out to the entry point
    trace = text.split("Call Trace:")[1].split("</TASK>")[0].split()
    assert trace[1:4] == ["__schedule", "schedule", "__mutex_lock_slowpath"]
    assert trace[-1] in ("kernel_clone", "handle_user_access")
    assert not {"_slowpath", "_lock", "wait_for", "run_op", "run_line"} & set(trace)
    held = text.split("Showing all locks held in the system:\n")[1]
    assert held.startswith(" &anon_vma->mutex (a mutex) held by P")
    run = replay(deadlock.saved["scenario"], deadlock.saved["schedule"])
    assert run.failure is not None and run.failure.kind == "hung_task"
    assert run.failure.text == deadlock.failure.text


def test_lockdep_reports_the_reclaim_inversion_on_3_0_rc2_only(deadlock):
    ex = rerun(deadlock, "v3.0-rc2", lockdep=True)
    report = next(text for kind, text in ex.reports if kind == "lockdep")
    assert "[ INFO: inconsistent lock state ]" in report
    assert "inconsistent {RECLAIM_FS-ON-W} -> {IN-RECLAIM_FS-W} usage." in report
    assert "(&anon_vma->mutex)" in report
    registered, backtrace = report.split("{RECLAIM_FS-ON-W} state was registered at:")[1] \
        .split("stack backtrace:")
    # held across an allocation in anon_vma_clone, taken again by reclaim
    assert "anon_vma_clone" in registered and "kmem_cache_alloc" in registered
    frames = backtrace.split()
    assert frames.index("page_lock_anon_vma") < frames.index("shrink_folio_list")
    # the same workload and schedule on the fixed kernel: no report, no hang
    fixed = rerun(deadlock, "v3.0", lockdep=True)
    assert fixed.failure is None and [k for k, _ in fixed.reports if k != "printk"] == []


def test_3_0_survives_the_same_exploration_through_its_fallback():
    result = explore(SEED, strategy="pct", seed=2, budget_runs=400, variant="v3.0",
                     progress=False)
    assert result.failure is None and result.runs == 400
    # the GFP_NOWAIT try failed under pressure and the GFP_KERNEL fallback ran
    assert result.alloc_failures["AVC:clone/fork"] > 0


def test_forced_fallback_with_the_tree_changing_in_the_window_holds_every_check():
    for strategy in ("pct", "random"):
        result = explore(WINDOW, strategy=strategy, seed=1, budget_runs=300, progress=False)
        assert result.failure is None, result.failure and result.failure.text
        assert result.alloc_failures["AVC:clone/fork"] > 0
        assert result.alloc_failures["AVC:clone/split"] > 0
