"""Finding a bug from cold: generated programs on an era, every detector
attached, until something is reported.

Nothing here knows any bug.  Each program is drawn from one seeded stream
(the seed of ``zoo run``) in three steps:

- **swarm testing** (Groce et al., ISSTA 2012): a configuration first,
  then the program.  Each op of the generator keeps its weight, is left out,
  or is made ten times likelier; programs are short or long, with few or
  many processes.  Leaving ops out is what lets a long program do one thing
  many times (fork and exit, and nothing else) instead of a bit of
  everything.
- **fault injection**: a third of the plain programs run with failslab
  (``failslab.probability`` 5-80 %, ``ignore_gfp_wait`` N, so GFP_KERNEL
  allocations fail too; in one cache or all), a third with syzkaller's fail-nth (the N-th
  allocation of one random line fails, N = 1-4, counting one cache's
  allocations or all): the error paths, the second one past the
  allocations that build the state.
- **concurrency and pressure**: one in ten is a concurrent program
  (``generate_concurrent``: a generated prefix, then a together block),
  half of them with the zone nearly full so that reclaim runs beside them,
  and processes exiting in the block (``exits``),
  explored under random and PCT schedules (a concurrent program costs
  as much as a hundred plain ones).

Every program runs with lockdep, the era's invariants after every line, the
leak check, the growth detector (checks/growth.py) and KASAN
(kernel/mm/kasan.py).  The first report ends the search; it is shrunk
(lines, then the schedule) and written as a scenario that replays it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from ..checks.growth import Growth
from ..explore.programs import Choices, generate, generate_concurrent, op_weights
from ..explore.runner import execute, explore_program
from ..explore.shrink import shrink_scenario, shrink_schedule
from ..explore.strategies import Pct, Random, Replay
from ..kernel.mm.kasan import kasan_init
from ..scenario import ScenarioError, parse
from ..session import MESSAGE_KINDS, Config, Session

# fail-nth counts the allocations of one cache, or of all
CACHES = (None, "anon_vma", "anon_vma_chain", "vm_area_struct")
SCHEDULES = 8           # schedules per concurrent program and strategy


class Watched:
    """A session whose machines carry the zoo's detectors beside the
    session's own: the growth bound and KASAN."""

    def __init__(self, session: Session):
        self.session = session

    def boot(self):
        machine = self.session.boot()
        Growth(machine.kernel)
        kasan_init(machine.kernel)
        return machine


def watched(text: str, era: str | None, checks: bool = True, path: str = "<zoo>") -> Watched:
    return Watched(Session(parse(text, path), Config(variant=era, checks=checks)))


def replay_found(path: str, schedule_path: str | None, era: str | None):
    """Run a saved reproducer again with the zoo's detectors: the
    execution (``.failure``, ``.reports``)."""
    from pathlib import Path

    from ..explore.schedule import load_schedule
    decisions = load_schedule(schedule_path)[0] if schedule_path else []
    return execute(watched(Path(path).read_text(), era, path=path), Replay(decisions))


@dataclass
class Program:
    """One generated program and how it was drawn."""

    text: str
    concurrent: bool
    swarm: dict = field(default_factory=dict)       # what the configuration chose


def draw_program(rng: random.Random) -> Program:
    """A swarm configuration, then a program under it.  A concurrent
    program whose prefix left a process of the block dead (an exec by a
    thread kills the rest of its group) is drawn again."""
    while True:
        prog = _draw_program(rng)
        if not prog.concurrent:
            return prog
        try:
            parse(prog.text, "<zoo>")
            return prog
        except ScenarioError:
            continue


def _draw_program(rng: random.Random) -> Program:
    table = op_weights(None)
    weights = {}
    for op, w in table:
        r = rng.random()
        weights[op] = 0 if r < 0.3 else w * 10 if r < 0.5 else w
    if not any(weights.values()):
        weights = dict(table)
    gen = Choices(rng.randrange(1 << 30))
    swarm = {"weights": {op: w for op, w in weights.items() if w != dict(table)[op]}}
    if rng.random() < 0.1:
        pressure = rng.random() < 0.5
        text = generate_concurrent(gen, max_ops=rng.choice((6, 12, 24)), pressure=pressure,
                                   weights=weights, exits=True)
        swarm["pressure"] = pressure
        return Program(text, True, swarm)
    max_ops = rng.choice((20, 40, 80, 200))
    max_procs = rng.choice((2, 4, 8))
    swarm.update(max_ops=max_ops, max_procs=max_procs)
    text = generate(gen, max_ops=max_ops, max_procs=max_procs, weights=weights, keep_alive=True)
    fault = rng.random()
    if fault < 1 / 3:
        p = rng.choice((5, 20, 50, 80))
        cache = rng.choice(CACHES)
        head = [f"set failslab.probability {p}", "set failslab.ignore_gfp_wait N",
                f"set failslab.seed {rng.randrange(1 << 16)}"]
        if cache:
            head.append(f"set failslab.cache {cache}")
        swarm["failslab"] = f"{p}%" + (f" in {cache}" if cache else "")
        text = "\n".join(head) + "\n" + text
    elif fault < 2 / 3:
        # syzkaller's fail-nth: one allocation of one call fails
        ops = text.splitlines()
        line = 4 + rng.randrange(len(ops))     # after the three set lines
        nth = rng.choice((1, 1, 2, 3, 4))
        cache = rng.choice(CACHES)
        swarm["fail_nth"] = f"{line}:{nth}" + (f" in {cache}" if cache else "")
        filt = f"set failslab.cache {cache}" if cache else "set failslab.verbose 0"
        text = f"set failslab.ignore_gfp_wait N\n{filt}\nset fail_nth {line}:{nth}\n" + text
    return Program(text, False, swarm)


@dataclass
class Found:
    """The first report of a search."""

    seconds: float          # time to the first report
    programs: int           # programs run up to it, it included
    kind: str
    report: str
    program: Program
    schedule: list          # its schedule (empty for a plain program)
    shrunk: str = ""        # the shrunk scenario
    shrunk_schedule: list = field(default_factory=list)


def problem(reports) -> tuple[str, str] | None:
    return next(((k, t) for k, t in reports if k not in MESSAGE_KINDS), None)


def run_program(prog: Program, era: str, seed: int):
    """(kind, text, schedule) of the first problem, or None."""
    program = watched(prog.text, era)
    if not prog.concurrent:
        ex = execute(program, Replay([]))
        found = problem(ex.reports) or (ex.failure and (ex.failure.kind, ex.failure.text))
        return None if not found else (*found, [])
    for strategy in (Random(seed=seed), Pct(seed=seed, depth=2)):
        r = explore_program(program, strategy, budget_runs=SCHEDULES)
        if r.failure is not None:
            return r.failure.kind, r.failure.text, r.schedule
    return None


def search(era: str, seconds: float, seed: int, shrink: bool = True) -> tuple[Found | None, int]:
    """Programs drawn from ``seed`` on ``era`` until one reports a problem
    or ``seconds`` are spent: (the first report or None, programs run)."""
    rng = random.Random(seed)
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < seconds:
        prog = draw_program(rng)
        n += 1
        hit = run_program(prog, era, seed + n)
        if hit is None:
            continue
        kind, text, schedule = hit
        found = Found(time.perf_counter() - start, n, kind, text, prog, schedule)
        if shrink:
            shrink_found(found, era)
        return found, n
    return None, n


def shrink_found(found: Found, era: str) -> None:
    """Fewer lines (and, for a concurrent program, fewer decisions), the
    same kind of report; the report is then the shrunk scenario's."""
    text, schedule = found.program.text, found.schedule
    if schedule:
        schedule = shrink_schedule(execute, watched(text, era), schedule, found.kind,
                                   max_seconds=5.0)
    text, schedule = shrink_scenario(execute, text, schedule, found.kind,
                                     lambda sc: Watched(Session(sc, Config(variant=era))),
                                     max_seconds=15.0)
    ex = execute(watched(text, era), Replay(schedule))
    # every decision the run took: what a replay checks it fits
    found.shrunk, found.shrunk_schedule = text, ex.schedule
    hit = problem(ex.reports)
    if hit is not None:
        found.kind, found.report = hit
