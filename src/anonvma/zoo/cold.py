"""Finding a bug from cold: generated programs on an era, every detector
attached, until something is reported.

Nothing here knows any bug.  Each program is drawn from one seeded stream
(the seed of ``zoo run``), of the family of programs that is furthest
below its share of the work done so far (``SHARES``: plain, faults,
concurrent, pressure; ``work``), in three steps:

- **swarm testing** (Groce et al., ISSTA 2012): a configuration first,
  then the program.  Each op of the generator keeps its weight, is left out,
  or is made ten times likelier; or (``NARROW`` of the configurations)
  only two to four ops are kept; programs are short or long, with few or
  many processes; three plain or faults programs in four aim at merges
  (``generate(merges=True)``: beside a neighbour with its flags, whole
  faulted VMAs moved to where their page offsets continue a neighbour's).
  Leaving ops out is what lets a long program do one thing many times
  (fork and exit, and nothing else) instead of a bit of everything.
  In a quarter of the plain and faults configurations (``CHURN``) fork
  and exit are ten times likelier whatever else was drawn: process churn,
  fork trees whose parents exit, the hierarchy anon_vma reuse works on.
- **fault injection** (the faults family): half its programs run with failslab
  (``failslab.probability`` 5-80 %, ``ignore_gfp_wait`` N, so GFP_KERNEL
  allocations fail too; in one cache or all), half with syzkaller's fail-nth (the N-th
  allocation of one random line fails, N = 1-4, counting one cache's
  allocations or all): the error paths, the second one past the
  allocations that build the state.
- **concurrency and pressure** (the concurrent and pressure families): a
  concurrent program (``generate_concurrent``: a generated prefix, then a
  together block), in the pressure family with the zone nearly full so
  that reclaim runs beside it (those are ten times as long: the zone's
  fill; drawn by count in one family they took nine tenths of its time),
  with swarm toggles each drawn per configuration: a process tree at the
  end of the prefix whose children write pages of their own, preemption
  inside RCU read sections and spinlocks (``set preempt full``), the zone
  filled after the prefix, a short block; a leaf of the process tree
  exiting in the block, chosen first, beside lines that free or walk
  (``exits``); explored under random schedules and under PCT's priorities
  with noise at synchronization points (``STRATEGIES``; a concurrent
  program costs as much as a hundred plain ones).  A pressure program's
  fill is sized by a run of its prefix so that the zone is at its low
  watermark when the block starts (``at_the_edge``): reclaim starts
  beside the block's lines, not before them.
- **near misses** (nearmiss.py): a concurrent program whose runs show an
  interleaving a class of bugs needs (an RCU-typesafe object reused under
  a reader) gets ``FOCUS`` more schedules of each strategy, and half the
  mutants of its family are of such programs.

- **coverage feedback** (AFL's corpus, on Hypothesis's choice lists): a
  program whose trace shows an event, or a pair of consecutive events, that
  no program before it showed is kept; half the programs are then mutants
  of a kept one: its configuration, its generator choices changed,
  duplicated, cut or extended (``Corpus``, ``mutate``).

Every program runs with lockdep, the era's invariants after every line, the
leak check, the growth detector (checks/growth.py) and KASAN
(kernel/mm/kasan.py).  The first report ends the search; it is shrunk
(lines, then the schedule) and written as a scenario that replays it.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from ..checks.growth import Growth
from ..explore import programs
from ..explore.prefix import Prefixed
from ..explore.programs import FILL_MAX, Choices, generate, generate_concurrent, op_weights
from ..explore.runner import execute, explore_program
from ..explore.shrink import shrink_scenario, shrink_schedule
from ..explore.strategies import Contend, Random, Replay
from ..kernel.mm.kasan import kasan_init
from ..kernel.include.gfp import __GFP_NOFAIL
from ..scenario import ScenarioError, Together, parse
from ..session import MESSAGE_KINDS, Config, Session
from .nearmiss import ReuseUnderReader

# fail-nth counts the allocations of one cache, or of all
CACHES = (None, "anon_vma", "anon_vma_chain", "vm_area_struct")
_DIGITS = re.compile(r"\d+")
SCHEDULES = 4           # schedules per concurrent program and strategy
FOCUS = 24              # more of each strategy for a program with a near miss
# the strategies a concurrent program is explored under, by seed: uniform
# random, and PCT's priorities with one change point (depth 2) and noise
# at synchronization points (``Contend``: a task that yields or meets a held
# lock is delayed behind every other one time in four, where PCT lowers a
# yielding task every time and so never lets it past two yields while
# others wait)
STRATEGIES = (lambda seed: Random(seed=seed), lambda seed: Contend(seed=seed, depth=2))
CORE = ("mmap", "write")  # the ops that make anonymous memory
NARROW = 0.4            # the share of narrow swarms
CHURN = 0.25            # the share of sequential programs that churn processes
PROCESS_OPS = ("fork", "exit")  # what builds and tears down the anon_vma tree
SWEEP_LINES = 3         # lines a fail-nth sweep goes through
# the share of the work (``work``) each family of programs gets: a
# concurrent program costs as much as ten plain ones and a fail-nth sweep is
# tens of programs, so drawing by count would leave the plain programs a few
# per cent of the time
# and the concurrent programs under memory pressure, ten times as long (the
# zone's fill), are a family of their own so that the ones without pressure
# get half the concurrent programs' time rather than a tenth; the faults
# programs, whose sweeps go through a few lines' allocations one by one, at
# twice the others' share
SHARES = {"plain": 1, "faults": 2, "concurrent": 1, "pressure": 1}
# the pressure programs' zone at the start of the block: its free pages
# against the low watermark (kswapd already woken at -1, the block's
# allocations cross it otherwise)
EDGE = (-1, 4)
# the together block's lines: the explorer's, and the whole working region
# unmapped beside them (its anon_vmas torn down beside the rest)
BLOCK_OPS = programs.BLOCK_OPS + ("munmap 0 8",)


class Watched:
    """A session whose machines carry the zoo's detectors beside the
    session's own: the growth bound and KASAN; and the near misses of all
    its runs so far are counted (nearmiss.py).

    ``prefix_once``: every run starts from a snapshot taken after the
    sequential prefix (explore.prefix), the detectors attached before it
    and part of the snapshot (KASAN's records, the growth bound's most
    mms, the objects freed under a reader).  The prefix has no near miss
    to count in every run: one task runs at a time there."""

    def __init__(self, session: Session, prefix_once: bool = False):
        self.session = session
        self.machine = None             # the last one booted
        self.near_misses = 0
        self._prefixed = Prefixed(session, self.watch) if prefix_once else None

    def boot(self):
        if self._prefixed is None:
            machine = self.session.boot()
            self.watch(machine)
        else:
            machine = self._prefixed.boot()
        self.machine = machine
        return machine

    def watch(self, machine) -> None:
        kernel = machine.kernel
        Growth(kernel)
        kasan_init(kernel)
        ReuseUnderReader(kernel, self._near_miss)

    def _near_miss(self) -> None:
        self.near_misses += 1


def watched(text: str, era: str | None, checks: bool = True, path: str = "<zoo>",
            prefix_once: bool = False) -> Watched:
    return Watched(Session(parse(text, path), Config(variant=era, checks=checks)), prefix_once)


def replay_found(path: str, schedule_path: str | None, era: str | None):
    """Run a saved reproducer again with the zoo's detectors: the
    execution (``.failure``, ``.reports``)."""
    from pathlib import Path

    from ..explore.schedule import load_schedule
    decisions = load_schedule(schedule_path)[0] if schedule_path else []
    return execute(watched(Path(path).read_text(), era, path=path), Replay(decisions))


@dataclass
class Program:
    """One generated program and how it was drawn: its configuration
    (``params``, for ``build``) and the generator's choices."""

    text: str
    concurrent: bool
    swarm: dict = field(default_factory=dict)       # what the configuration chose
    params: dict = field(default_factory=dict)
    choices: list = field(default_factory=list)
    mutant: bool = False                            # of a corpus program
    runs: int = 0                                   # schedules it was run under
    per_run: int = 0        # of its lines, those each schedule runs (after the prefix)


def kind_of(params: dict) -> str:
    """The family a configuration belongs to, of those in ``SHARES``."""
    if params["concurrent"]:
        return "pressure" if params["pressure"] else "concurrent"
    return "faults" if {"failslab", "sweep", "fail_nth"} & params.keys() else "plain"


def draw_config(rng: random.Random, kind: str) -> dict:
    """A swarm configuration of the family ``kind``: op weights, size,
    concurrency, faults."""
    table = op_weights(None)
    weights = {}
    if rng.random() < NARROW:
        # a narrow swarm: a few ops only, the same thing many times; half
        # of them on the two that make anonymous memory (mmap, write) and
        # one to three others
        ops = [op for op, _w in table]
        if rng.random() < 0.5:
            kept = set(rng.sample(ops, rng.randint(2, 4)))
        else:
            kept = set(rng.sample([op for op in ops if op not in CORE], rng.randint(1, 3)))
            kept.update(CORE)
        weights = {op: w if op in kept else 0 for op, w in table}
    else:
        for op, w in table:
            r = rng.random()
            weights[op] = 0 if r < 0.3 else w * 10 if r < 0.5 else w
    if not any(weights.values()):
        weights = dict(table)
    params = {"weights": weights}
    if kind in ("concurrent", "pressure"):
        # swarm toggles of the concurrent programs: a process tree at the
        # end of the prefix, preemption inside RCU read sections and
        # spinlocks, the zone filled after the prefix
        params.update(concurrent=True, max_ops=rng.choice((6, 12, 24)),
                      pressure=kind == "pressure",
                      tree=rng.choice((0, 1, 2, 3)) if rng.random() < 0.5 else 0,
                      preempt=rng.random() < 0.5, fill_last=rng.random() < 0.5,
                      block=rng.choice(((2, 3), (0, 1))))
        return params
    if rng.random() < CHURN:
        # process churn, a swarm dimension of its own: fork and exit ten
        # times likelier whatever the other ops got, so that the program is
        # a tree of generations whose parents exit (the hierarchy anon_vma
        # reuse works on) rather than a few forks among other ops; alone
        # the weights give it to about one configuration in forty
        weights.update((op, w * 10) for op, w in table if op in PROCESS_OPS)
    params.update(concurrent=False, max_ops=rng.choice((20, 40, 80, 200)),
                  max_procs=rng.choice((2, 4, 8)), merges=rng.random() < 0.75)
    if kind == "plain":
        return params
    cache = rng.choice(CACHES)
    if rng.random() < 0.5:
        params["failslab"] = (rng.choice((5, 20, 50, 80)), cache, rng.randrange(1 << 16))
    else:
        # a fail-nth sweep: every allocation of a few lines fails in turn,
        # alone and with the one after it (sweep)
        params["sweep"] = cache
    return params


def build(params: dict, gen: Choices, fill: int | None = None) -> Program:
    """The program a configuration and a source of choices make (a
    pressure program's fill of ``fill`` pages, if given)."""
    weights = params["weights"]
    table = dict(op_weights(None))
    swarm = {"weights": {op: w for op, w in weights.items() if w != table[op]}}
    if params["concurrent"]:
        toggles = {k: params[k] for k in ("pressure", "tree", "preempt", "fill_last", "block")}
        text = generate_concurrent(gen, max_ops=params["max_ops"], weights=weights, exits=True,
                                   may_fork=True, block_ops=BLOCK_OPS, fill=fill, **toggles)
        swarm.update(toggles)
        return Program(text, True, swarm, params, gen.recorded)
    swarm.update(max_ops=params["max_ops"], max_procs=params["max_procs"],
                 merges=params["merges"])
    text = generate(gen, max_ops=params["max_ops"], max_procs=params["max_procs"],
                    weights=weights, keep_alive=True, merges=params["merges"])
    head = []
    if "failslab" in params:
        p, cache, seed = params["failslab"]
        head = [f"set failslab.probability {p}", "set failslab.ignore_gfp_wait N",
                f"set failslab.seed {seed}"]
        swarm["failslab"] = f"{p}%" + (f" in {cache}" if cache else "")
    elif "fail_nth" in params:
        line, nth, times, cache = params["fail_nth"]
        head = fail_nth_head(text, line, nth, times)
        swarm["fail_nth"] = head[1].split()[-1] + (f" and {times - 1} after" if times > 1
                                                   else "") + (f" in {cache}" if cache else "")
    if head:
        head.append(f"set failslab.cache {cache}" if cache else "set failslab.verbose 0")
        text = "\n".join(head) + "\n" + text
    return Program(text, False, swarm, params, gen.recorded)


def fail_nth_head(text: str, body_line: int, nth: int, times: int) -> list[str]:
    """The set lines (all but the cache line that ``build`` appends) that
    fail the ``nth`` eligible allocation of line ``body_line`` (1-based, of
    ``text``) and the ``times - 1`` after it: syzkaller's fail-nth for the
    first, and for the rest failslab with probability 100 for a task that
    sets make-it-fail around that line only (a fail-nth failure uses up
    one of the times)."""
    more = times > 1
    # the head's own lines, the cache line included, come first
    line = (3 + 4 * more) + min(body_line, len(text.splitlines()))
    head = ["set failslab.ignore_gfp_wait N", f"set fail_nth {line}:{nth}"]
    if more:
        head += ["set failslab.probability 100", f"set failslab.times {times}",
                 "set failslab.task_filter Y", f"set make_it_fail {line}"]
    return head


def line_allocations(text: str, era: str, cache) -> dict[int, tuple[int, frozenset]]:
    """For each line of a plain program (1-based) that allocates: how many
    slab allocations fail-nth would count there with ``ignore_gfp_wait N``
    (all but __GFP_NOFAIL ones, of ``cache`` or all), and the allocation
    sites they were made at (the trace's tokens, ``+AVC:clone/dup``, or the
    cache for the caches the trace leaves out)."""
    machine = Session(parse(text, "<zoo>"), Config(variant=era, checks=False,
                                                   lockdep=False)).boot()
    lines = machine.trace_lines.lines
    counts: dict[int, tuple[int, frozenset]] = {}
    pending = [0, set(), 0]             # allocations, other caches, trace lines seen

    def alloc(call_site, obj, s, gfp):
        if not gfp & __GFP_NOFAIL and (cache is None or s.name == cache):
            pending[0] += 1
            pending[1].add(s.name)

    def step(st):
        if pending[0] and not isinstance(st, Together):
            sites = {_DIGITS.sub("", ln.split(" ", 1)[1]) for ln in lines[pending[2]:]
                     if ln.split(" ", 1)[1][:1] in "+!"}
            counts[st.lineno] = pending[0], frozenset(sites | pending[1] - {"anon_vma",
                                                                              "anon_vma_chain"})
        pending[:] = [0, set(), len(lines)]

    machine.kernel.trace.kmem_cache_alloc.register(alloc)
    machine.kernel.trace.scenario_step.register(step)
    machine.run()
    return counts


def sweep(prog: Program, era: str, rng: random.Random, sites: Counter) -> list[Program]:
    """The programs of a fail-nth sweep over ``prog``: the few lines that
    allocate at the sites swept least so far (``sites``, updated), and for
    each every N from 1 to the allocations the line makes, failing the N-th
    alone and then with the one after it (an allocation retried after a
    failure, GFP_NOWAIT then GFP_KERNEL, fails twice)."""
    cache = prog.params["sweep"]
    counts = line_allocations(prog.text, era, cache)

    def rarity(line):
        return min((sites[site] for site in counts[line][1]), default=0), rng.random()

    lines = sorted(counts, key=rarity)[:SWEEP_LINES]
    out = []
    for line in lines:
        sites.update(counts[line][1])
        for nth in range(1, counts[line][0] + 1):
            for times in (1, 2):
                params = {k: v for k, v in prog.params.items() if k != "sweep"}
                params["fail_nth"] = (line, nth, times, cache)
                out.append(build(params, Choices(replay=prog.choices)))
    return out


def mutate(choices: list, rng: random.Random) -> list:
    """AFL's havoc on the generator's choice list (Hypothesis's view of a
    program): change a few choices, duplicate or drop a chunk, or extend
    it.  Past the end of the list the generator draws lowest values."""
    out = list(choices)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.5 and out:
            i = rng.randrange(len(out))
            out[i] = rng.randrange(max(2, out[i] * 2 + 2))
        elif kind < 0.7 and len(out) > 2:
            i = rng.randrange(len(out))
            j = min(len(out), i + rng.randint(1, 16))
            out[j:j] = out[i:j]
        elif kind < 0.85 and len(out) > 2:
            i = rng.randrange(len(out))
            del out[i:i + rng.randint(1, 8)]
        else:
            out += [rng.randrange(64) for _ in range(rng.randint(4, 32))]
    return out


class Corpus:
    """Coverage feedback: programs that made the kernel do something no
    program before them did are kept, and half the programs are mutants of
    one of them.  Coverage is what the trace shows, with process and object
    numbers left out: each object event and user-visible failure
    (``+AVC:clone/fork``, ``!mprotect ENOMEM``), and each pair of
    consecutive ones, so a new order of known events counts too."""

    def __init__(self):
        self.seen: set = set()
        self.programs: list[Program] = []
        self.focus: list[Program] = []      # the programs with a near miss

    @staticmethod
    def features(lines) -> set:
        tokens = []
        for line in lines:
            words = line.split(" ", 1)
            if len(words) == 2 and words[1][:1] in "+-!":
                tokens.append(_DIGITS.sub("", words[1]))
        return set(tokens) | set(zip(tokens, tokens[1:]))

    def add(self, prog: Program, lines, near_miss: bool = False) -> bool:
        new = self.features(lines) - self.seen
        if new:
            self.seen |= new
            self.programs.append(prog)
        if near_miss:
            self.focus.append(prog)
        return bool(new)


def draw_program(rng: random.Random, kind: str, corpus: Corpus | None = None) -> Program:
    """A new program of the family ``kind`` (a swarm configuration, then a
    program under it), or a mutant of a corpus program of that family.  A
    concurrent program whose prefix left a process of the block dead (an
    exec by a thread kills the rest of its group) is drawn again."""
    while True:
        parents = [p for p in corpus.programs if kind_of(p.params) == kind] if corpus else []
        focus = [p for p in corpus.focus if kind_of(p.params) == kind] if corpus else []
        if (parents or focus) and rng.random() < 0.5:
            # half the mutants of a family with near misses are of those
            parent = rng.choice(focus if focus and (not parents or rng.random() < 0.5)
                                else parents)
            prog = build(parent.params, Choices(replay=mutate(parent.choices, rng)))
            prog.mutant = True
        else:
            prog = build(draw_config(rng, kind), Choices(rng.randrange(1 << 30)))
        if not prog.concurrent:
            return prog
        try:
            parse(prog.text, "<zoo>")
            return prog
        except ScenarioError:
            continue


def at_the_edge(prog: Program, era: str, rng: random.Random) -> Program | None:
    """The pressure program with its fill sized so that the zone is at its
    low watermark when the block starts (``EDGE``, drawn): reclaim then
    starts inside the block, beside its lines.  The fill the generator
    draws cannot know what the prefix allocates: of 30 programs it drew, 7
    started the block with reclaim already done in the prefix (a fill
    that crossed the min watermark, direct reclaim of 32 pages, the zone
    30 pages above the watermark) and 13 with P0 killed (SIGSEGV, in the
    prefix or past the end of the fill's mapping) and no pressure at all.  The
    prefix is run once, sequentially, with no fill, and the fill is what
    the zone has left above the edge.  None if P0 is dead at the block or
    no fill reaches the edge."""
    bare = build(prog.params, Choices(replay=prog.choices), fill=0)
    session = Session(parse(bare.text, "<zoo>"), Config(variant=era, checks=False,
                                                         lockdep=False))
    machine = session.boot()
    block = next(st for st in session.sc.steps if isinstance(st, Together))
    machine.run_steps(until=block.lineno - 1)
    zone = machine.kernel.zone
    fill = zone.nr_free - zone.wmark_low - rng.randint(*EDGE)
    if machine.runner.procs["P0"].dead or not 0 <= fill <= FILL_MAX:
        return None
    edge = build(prog.params, Choices(replay=prog.choices), fill=fill)
    edge.mutant = prog.mutant
    return edge


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


def problem(reports, skip=None) -> tuple[str, str] | None:
    """The first report that is a problem and that ``skip`` does not pass
    over; the ones it passes over go to ``skip.seen``."""
    for kind, text in reports:
        if kind not in MESSAGE_KINDS and not (skip and skip(kind, text)):
            return kind, text
    return None


class Skip:
    """Reports to pass over: ``label(kind, text)`` names what a report is
    (a catalogued bug the era has, say) or None; the first of each name is
    kept in ``seen`` (name -> (seconds, programs, kind, report))."""

    def __init__(self, label):
        self.label = label
        self.seen: dict = {}
        self.now = (0.0, 0)             # (seconds, programs) of the search

    def __call__(self, kind: str, text: str) -> bool:
        name = self.label(kind, text)
        if name is not None and name not in self.seen:
            self.seen[name] = (*self.now, kind, text)
        return name is not None


def work(prog: Program) -> int:
    """What running a program costs, in lines run: a concurrent program's
    prefix once (its schedules start from the snapshot after it) and the
    lines after it times the schedules it ran under, as explore counts its
    shrinking budget.  The time shares are counted in it rather than in
    seconds so that a seed draws the same programs however loaded the
    machine is."""
    lines = prog.text.count("\n") + 1
    return lines + (prog.runs - 1) * prog.per_run if prog.concurrent else lines


def run_program(prog: Program, era: str, seed: int, corpus: Corpus | None = None,
                skip: Skip | None = None, prefix_once: bool = True):
    """(kind, text, schedule) of the first problem that ``skip`` does not
    pass over, or None; the run's coverage goes to ``corpus``.
    ``prefix_once``: a concurrent program's schedules start from a snapshot
    taken after its prefix (``Watched``) rather than booting afresh."""
    program = watched(prog.text, era, prefix_once=prefix_once and prog.concurrent)
    hit = None
    if not prog.concurrent:
        ex = execute(program, Replay([]))
        found = problem(ex.reports, skip) or (ex.failure and ex.failure.kind == "exception"
                                               and (ex.failure.kind, ex.failure.text))
        hit = None if not found else (*found, [])
    else:
        session = program.session
        prog.per_run = session.sc.lines_after(max(session.prefix_checks, default=0))
        # SCHEDULES of each strategy, then, if a run came close (a near
        # miss), FOCUS more of each, going on from where each left off
        strategies = [strategy(seed) for strategy in STRATEGIES]
        for budget in (SCHEDULES, FOCUS):
            if hit is not None or budget == FOCUS and not program.near_misses:
                break
            for strategy in strategies:
                r = explore_program(program, strategy, budget_runs=budget)
                prog.runs += r.runs
                if r.failure is not None and problem([(r.failure.kind, r.failure.text)], skip):
                    hit = r.failure.kind, r.failure.text, r.schedule
                    break
    if corpus is not None and program.machine is not None:
        corpus.add(prog, program.machine.trace_lines.lines, program.near_misses > 0)
    return hit


def search(era: str, seconds: float, seed: int, shrink: bool = True,
           feedback: bool = True, skip: Skip | None = None,
           programs: int | None = None, prefix_once: bool = True) -> tuple[Found | None, int]:
    """Programs drawn from ``seed`` on ``era`` until one reports a problem
    that ``skip`` does not pass over or ``seconds`` are spent (or, with
    ``programs``, that many programs have run: a budget the load of the
    machine does not change): (the first report or None, programs run).
    ``feedback``: keep a corpus and mutate it (coverage feedback).
    ``prefix_once``: as ``run_program``'s."""
    rng = random.Random(seed)
    corpus = Corpus() if feedback else None
    start = time.perf_counter()
    n = 0
    pending: list[Program] = []         # the rest of a fail-nth sweep
    sites: Counter = Counter()          # allocation site -> lines swept there
    spent: Counter = Counter()          # family -> the work its programs took
    while time.perf_counter() - start < seconds and (programs is None or n < programs):
        # the family furthest below its share of the work so far
        kind = min(SHARES, key=lambda k: (spent[k] / SHARES[k], k))
        prog = pending.pop() if kind == "faults" and pending else \
            draw_program(rng, kind, corpus)
        if kind == "pressure":
            spent[kind] += prog.text.count("\n") + 1       # at_the_edge() runs its prefix
            prog = at_the_edge(prog, era, rng)
            if prog is None:
                continue
        n += 1
        if skip is not None:
            skip.now = (time.perf_counter() - start, n)
        hit = run_program(prog, era, seed + n, corpus, skip, prefix_once)
        if hit is None:
            spent[kind] += work(prog)
            if "sweep" in prog.params:
                pending = sweep(prog, era, rng, sites)[::-1]
                spent[kind] += work(prog)       # line_allocations() ran it once more
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
    hit = next((text for kind, text in ex.reports if kind == found.kind), None)
    if hit is not None:
        found.report = hit
