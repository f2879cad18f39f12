"""Exploring the interleavings of a concurrent scenario.

    result = explore("race.scn", strategy="pct", budget_runs=1000, seed=1,
                     out_dir="failures")
    run = replay("failures/race-hung_task-pct-1/race.scn",
                 "failures/race-hung_task-pct-1/schedule.json")

``explore`` runs the scenario under a strategy (``strategies``) until a run
fails (any report on the bus: lockdep, hung task, invariant, leak; or an
exception such as a VM_BUG_ON), the strategy runs out of schedules, or the
budget is spent.  A failing schedule is shrunk, checked for determinism and
saved beside a copy of the scenario; those two files alone replay it.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from ..scenario import parse, parse_file
from ..variants import is_user_spec
from .concurrent import ScenarioProgram
from .parallel import PARALLEL_STRATEGIES, explore_parallel
from .runner import (
    Execution, Failure, Nondeterminism, Result, check_determinism, execute, explore_program,
    shrink, shrink_scenario,
)
from .schedule import load_schedule, save_schedule
from .strategies import Replay, make_strategy

DEFAULT_RUNS = 1000


def explore(path, strategy: str = "random", budget_runs: int | None = None,
            budget_seconds: float | None = None, seed: int = 0, out_dir=None,
            variant: str | None = None, depth: int = 3, max_preemptions: int = 2,
            minimise: bool = True, progress: bool | None = None, jobs: int = 1) -> Result:
    """Explore the scenario file ``path``; see the module docstring.
    ``depth`` is PCT's bug depth, ``max_preemptions`` DFS's bound.  Without
    a budget, ``DEFAULT_RUNS`` runs.  ``progress``: a progress bar on stderr
    (default: when stderr is a terminal).  ``jobs`` > 1 explores random or
    PCT schedules in that many processes (``parallel``)."""
    sc = parse_file(str(path))
    program = ScenarioProgram(sc, variant)
    params = {"pct": {"depth": depth}, "dfs": {"max_preemptions": max_preemptions}}
    strat = make_strategy(strategy, seed=seed, **params.get(strategy, {}))
    if budget_runs is None and budget_seconds is None:
        budget_runs = DEFAULT_RUNS
    if progress is None:
        progress = sys.stderr.isatty()
    if jobs > 1:
        if strategy not in PARALLEL_STRATEGIES:
            raise ValueError(f"--jobs works with {' and '.join(PARALLEL_STRATEGIES)} only")
        result = explore_parallel(program, strategy, seed, params.get(strategy, {}), jobs,
                                  budget_runs, budget_seconds)
    elif progress:
        result = _with_progress(program, strat, budget_runs, budget_seconds, path)
    else:
        result = explore_program(program, strat, budget_runs, budget_seconds)
    if result.failure is None:
        return result
    original = text = Path(path).read_text()
    if minimise:
        small = shrink(program, result.schedule, result.failure.kind)
        if small != result.schedule:
            ex = execute(program, Replay(small))
            result.shrunk_from = len(result.schedule)
            result.schedule, result.failure = small, ex.failure
        # Only invariant and leak failures need the checks while shrinking,
        # and they cost most of a run.
        checks = result.failure.kind in ("invariant", "leak")
        text, schedule = shrink_scenario(original, result.schedule, result.failure.kind,
                                         lambda sc: ScenarioProgram(sc, variant, checks=checks))
        if text != original:
            program = ScenarioProgram(parse(text, str(path)), variant)
            result.schedule = schedule
            result.failure = execute(program, Replay(schedule)).failure
            result.shrunk_lines = (len(original.splitlines()), len(text.splitlines()))
    try:
        check_determinism(program, result.schedule + _tail(program, result.schedule))
        result.saved["deterministic"] = True
    except Nondeterminism as e:
        result.saved["deterministic"] = False
        result.saved["nondeterminism"] = str(e)
    if out_dir is not None:
        _save(result, Path(path), text, Path(out_dir), strategy, seed, variant,
              sc.settings.get("variant"))
    return result


def _tail(program, schedule) -> list[int]:
    """The choices that lenient replay adds past the end of ``schedule``:
    the strict replay of the determinism check needs all of them."""
    full = execute(program, Replay(schedule)).schedule
    return full[len(schedule):]


def _with_progress(program, strat, budget_runs, budget_seconds, path) -> Result:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(f"exploring {Path(path).name}", total=budget_runs)
        return explore_program(program, strat, budget_runs, budget_seconds,
                               on_run=lambda n: bar.update(task, completed=n))


def _save(result: Result, path: Path, text: str, out_dir: Path, strategy: str, seed: int,
          variant: str | None, set_variant: str | None) -> None:
    """The failing scenario (shrunk) and its schedule: the two files that
    replay the failure (with the --variant it was explored with)."""
    d = out_dir / f"{path.stem}-{result.failure.kind}-{strategy}-{seed}"
    d.mkdir(parents=True, exist_ok=True)
    scn = d / path.name
    if set_variant is not None and is_user_spec(set_variant):
        # the copy lives elsewhere: name the patch file it had from where it was
        text = re.sub(r"^set variant\s+\S+", lambda m: f"set variant {set_variant}", text,
                      flags=re.M)
    scn.write_text(text)
    sched = d / "schedule.json"
    save_schedule(sched, result.schedule, strategy=result.strategy, run=result.failing_run,
                  failure=result.failure.headline())
    (d / "report.txt").write_text(result.failure.text)
    result.saved.update(dir=str(d), scenario=str(scn), schedule=str(sched),
                        replay=shlex.join(["anonvma", "replay", str(scn), str(sched)]
                                          + (["--variant", variant] if variant else [])))


def replay(scenario_path, schedule_path, variant: str | None = None) -> Execution:
    """Run a saved failure again from its scenario and schedule files."""
    sc = parse_file(str(scenario_path))
    return execute(ScenarioProgram(sc, variant), Replay(load_schedule(schedule_path)))


__all__ = ["Execution", "Failure", "Result", "explore", "replay"]
