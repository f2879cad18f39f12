"""Exploring the interleavings of a concurrent scenario.

    result = explore("race.scn", strategy="pct", budget_runs=1000, seed=1,
                     out_dir="failures")
    ex = replay("failures/race-hung_task-pct-1/race.scn",
                "failures/race-hung_task-pct-1/schedule.json")

``explore`` runs the scenario's session (anonvma.session) under a strategy
(``strategies``) until a run fails (any problem reported on the bus:
lockdep, hung task, invariant, leak, BUG; or an exception), the strategy
runs out of schedules, or the budget is spent.  A failing schedule is
shrunk (``shrink``), checked for determinism and saved beside a copy of the
scenario; those two files alone replay it.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import sys
from pathlib import Path

from ..scenario import parse, parse_file
from ..session import Config, Session
from ..variants import is_user_spec
from .parallel import PARALLEL_STRATEGIES, explore_parallel
from .prefix import Prefixed
from .runner import (
    Execution, Failure, Nondeterminism, Result, check_determinism, execute, explore_program,
)
from .schedule import load_schedule, save_schedule
from .shrink import shrink_schedule, shrink_scenario
from .strategies import Replay, make_strategy

DEFAULT_RUNS = 1000
# What shrinking a failure may cost, in scenario lines run: at most what the
# search cost, at least SHRINK_MIN_LINES; and in runs no more than these.
SHRINK_MIN_LINES = 1000
SHRINK_SCHEDULE_RUNS = 200
SHRINK_SCENARIO_RUNS = 400


def scenario_digest(text: str) -> str:
    """What a saved schedule records of its scenario, to tell a foreign one."""
    ops = [line.split("#", 1)[0].split() for line in text.split("\n")]
    return hashlib.sha256(repr([words for words in ops if words]).encode()).hexdigest()[:16]


def explore(path, strategy: str = "random", budget_runs: int | None = None,
            budget_seconds: float | None = None, seed: int = 0, out_dir=None,
            variant: str | None = None, depth: int | tuple[int, int] | None = None,
            noise: float | None = None, max_preemptions: int = 2, minimise: bool = True,
            shrink_lines: int | None = None, progress: bool | None = None, jobs: int = 1,
            on_found=None, prefix_once: bool = True, observe=None) -> Result:
    """Explore the scenario file ``path``; see the module docstring.
    ``depth`` is PCT's bug depth, or a range (lo, hi) of them the runs take
    in turn (``Pct``; default 1-3), and contend's change points likewise
    (``Contend``; default 1), ``noise`` contend's probability of a delay,
    ``max_preemptions`` DFS's bound.  Without
    a budget, ``DEFAULT_RUNS`` runs.  ``shrink_lines``: what shrinking may
    cost, in scenario lines run (default: what the search ran, at least
    ``SHRINK_MIN_LINES``).  ``progress``: a progress bar on stderr
    (default: when stderr is a terminal).  ``jobs`` > 1 explores random or
    PCT schedules in that many processes (``parallel``).  ``on_found(result)``
    hears of a failure as found, before it is shrunk (``--report-first``).
    ``prefix_once``: runs start from a snapshot taken after the scenario's
    sequential prefix (``prefix``) rather than booting afresh.
    ``observe(session)`` gives the program the search runs instead (the
    campaign's coverage watches it); shrinking runs the session."""
    sc = parse_file(str(path))
    # Nobody reads an exploration's trace lines: they are not recorded.
    session = Session(sc, Config(variant=variant, trace=False))
    if observe is not None:
        program = observe(session)
    else:
        program = Prefixed(session) if prefix_once else session
    params = {"pct": {"depth": depth or (1, 3)}, "dfs": {"max_preemptions": max_preemptions},
              "contend": {k: v for k, v in (("depth", depth), ("noise", noise)) if v is not None}}
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
    result.concurrent = sc.concurrent
    if result.failure is None:
        return result
    if on_found is not None:
        on_found(result)
    original = text = Path(path).read_text()
    if minimise:
        # Shrinking pays for itself: together the two shrinkers run no more
        # scenario lines than the search that found the failure did, the
        # schedule's at most half of them.  Counted in lines, not seconds, so
        # that the shrunk failure does not depend on how busy the machine
        # is; nor in runs, since a search runs the sequential prefix once
        # (``Prefixed``) and the lines after it in every run, and a shrunk
        # scenario's run all of its own.  The count is the same whether or
        # not the prefix is snapshot, and so is the saved failure.
        per_run = max(1, sc.lines_after(max(session.prefix_checks, default=0)))
        prefix = sc.lines_after() - per_run
        left = (max(SHRINK_MIN_LINES, prefix + result.runs * per_run)
                if shrink_lines is None else shrink_lines)

        def counted(program, strategy):
            nonlocal left
            left -= per_run
            return execute(program, strategy)

        small = shrink_schedule(counted, program, result.schedule, result.failure.kind,
                                max_runs=min(SHRINK_SCHEDULE_RUNS, left // 2 // per_run),
                                max_seconds=None)
        if small != result.schedule:
            result.shrunk_from = len(result.schedule)
            result.schedule = small
            result.failure = execute(program, Replay(small)).failure
        # Only invariant and leak failures need the checks while shrinking,
        # and they cost most of a run.
        checks = result.failure.kind in ("invariant", "leak")
        text, schedule = original, result.schedule
        # a candidate runs at most the lines of the scenario it shrinks
        attempts = min(SHRINK_SCENARIO_RUNS, left // sc.lines_after())
        if attempts > 0:
            text, schedule = shrink_scenario(
                execute, original, result.schedule, result.failure.kind,
                lambda sc: Session(sc, Config(variant=variant, checks=checks, trace=False)),
                max_runs=attempts, max_seconds=None)
        if text != original:
            session = Session(parse(text, str(path)), Config(variant=variant, trace=False))
            result.schedule = schedule
            result.failure = execute(session, Replay(schedule)).failure
            result.shrunk_lines = (len(original.splitlines()), len(text.splitlines()))
    full = execute(session, Replay(result.schedule)).schedule
    try:
        check_determinism(session, full)
        result.saved["deterministic"] = True
    except Nondeterminism as e:
        result.saved["deterministic"] = False
        result.saved["nondeterminism"] = str(e)
    result.schedule = full
    if out_dir is not None:
        _save(result, Path(path), text, Path(out_dir), strategy, seed, jobs, session.variant,
              variant, sc.settings.get("variant"))
    return result


def _with_progress(program, strat, budget_runs, budget_seconds, path) -> Result:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(f"exploring {Path(path).name}", total=budget_runs)
        return explore_program(program, strat, budget_runs, budget_seconds,
                               on_run=lambda n: bar.update(task, completed=n))


def _save(result: Result, path: Path, text: str, out_dir: Path, strategy: str, seed: int,
          jobs: int, era: str, variant: str | None, set_variant: str | None) -> None:
    """The failing scenario (shrunk, its comments kept) and its schedule:
    the two files that replay the failure (with the --variant it was
    explored with).  A directory of an earlier exploration is never
    overwritten."""
    name = f"{path.stem}-{result.failure.kind}-{strategy}-{seed}" + (f"-j{jobs}" if jobs > 1 else "")
    d = out_dir / name
    n = 1
    while d.exists():
        n += 1
        d = out_dir / f"{name}-{n}"
    d.mkdir(parents=True)
    scn = d / path.name
    if set_variant is not None and is_user_spec(set_variant):
        # the copy lives elsewhere: name the patch file it had from where it was
        text = re.sub(r"^set variant\s+\S+", lambda m: f"set variant {set_variant}", text,
                      flags=re.M)
    scn.write_text(text)
    sched = d / "schedule.json"
    save_schedule(sched, result.schedule, strategy=result.strategy, run=result.failing_run,
                  variant=era, scenario=scenario_digest(text),
                  failure=result.failure.headline())
    (d / "report.txt").write_text(result.failure.text)
    result.saved.update(dir=str(d), scenario=str(scn), schedule=str(sched),
                        replay=shlex.join(["anonvma", "replay", str(scn), str(sched)]
                                          + (["--variant", variant] if variant else [])))


class ReplayMismatch(ValueError):
    """The schedule file does not belong to the scenario, or the run did not
    take the recorded decisions."""


def replay(scenario_path, schedule_path, variant: str | None = None,
           observe=None) -> Execution:
    """Run a saved failure again from its scenario and schedule files;
    ``observe(session)`` gives the program to run instead of the session
    itself (``viz.timeline.Recording`` records it).  Raises ``ReplayMismatch`` if the schedule was recorded for another
    scenario or variant, or the run left it."""
    decisions, info = load_schedule(schedule_path)
    sc = parse_file(str(scenario_path))         # a bad file is its FILE:LINE message
    text = Path(scenario_path).read_text()
    session = Session(sc, Config(variant=variant, trace=False))
    recorded = info.get("variant")
    if recorded is not None and recorded != session.variant:
        raise ReplayMismatch(f"{schedule_path}: recorded on variant {recorded}, not "
                             f"{session.variant}: replay it with --variant {recorded}")
    digest = info.get("scenario")
    if digest is not None and digest != scenario_digest(text):
        raise ReplayMismatch(f"{schedule_path}: recorded for another scenario than "
                             f"{scenario_path} (its operations differ)")
    strategy = Replay(decisions)
    strategy.new_execution()
    ex = execute(session if observe is None else observe(session), strategy)
    if not strategy.fits():
        raise ReplayMismatch(f"{schedule_path}: the schedule does not fit {scenario_path}: "
                             f"{strategy.mismatch or 'the run ended before its last decision'}")
    return ex


__all__ = ["Execution", "Failure", "ReplayMismatch", "Result", "explore", "replay"]
