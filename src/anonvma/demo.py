"""``make demo``: the project's main job, on screen in well under a minute.

1. The model of Linux 6.18: a scenario, the trace it produces (the same lines
   the live kernel produces, as the tests check), and the anon_vma hierarchy.
2. The seed, "mm: avoid anon_vma_chain allocation under anon_vma lock":
   exploring a fork under memory pressure on 3.0-rc2 finds a real deadlock,
   saved with the command that replays it; lockdep, on that run, gives the
   report Hugh Dickins got in 2011; the fixed 3.0 survives the same schedules,
   and the counts show how often its GFP_NOWAIT try failed and the fallback
   ran, also with every try forced to fail while the tree changes under it.
   The seed's anon_vma hierarchy at the fork is drawn to a file (SVG).
3. The seed's other claim, "better concurrency in case the allocation does
   need to block": exim in virtual time on simulated CPUs (anonvma perf),
   the eras' throughput, and under memory pressure whether the root lock is
   held across direct reclaim (3.0-rc2) or never (3.0).
"""

from __future__ import annotations

import pathlib
import tempfile
from importlib.resources import files

from rich.console import Console

from .explore import explore
from .explore.runner import execute
from .explore.strategies import Replay
from .scenario import parse
from .session import Config, Session
from .viz.hierarchy import render_hierarchy

BUDGET = 400

FORK_AND_COW = """\
P0 mmap 0 4
P0 write 0
P0 fork P1
P1 write 0
P1 write 1
"""

console = Console(highlight=False, soft_wrap=True)


def example(name: str) -> pathlib.Path:
    """A scenario shipped with the package (anonvma/examples/)."""
    return pathlib.Path(str(files("anonvma") / "examples" / name))


def show_618() -> bool:
    console.rule("[bold]1. Linux 6.18: fork, then copy-on-write")
    console.print("".join(f"    {line}\n" for line in FORK_AND_COW.splitlines()), end="",
                  markup=False)
    machine = Session(parse(FORK_AND_COW + "P1 maps\n", "fork-and-cow")).boot()
    hierarchy = []
    machine.kernel.trace.user_maps.register(
        lambda proc, lines: hierarchy.extend(render_hierarchy(machine.kernel,
                                                              machine.trace_lines.name_of)))
    machine.run()
    run = machine.result()
    console.print("  trace (every anon_vma / anon_vma_chain allocation, with its call site):")
    console.print("".join(f"    {line}\n" for line in run.events), end="", markup=False)
    console.print("  the anon_vma hierarchy after the writes:")
    console.print("".join(f"    {line}\n" for line in hierarchy), end="", markup=False)
    console.print("  checks: " + ("every invariant held after every line; everything freed at exit"
                                  if not run.problems else "\n".join(run.problems)))
    return not run.problems


def excerpt(text: str, first: int, last: int = 0) -> str:
    lines = text.strip("\n").splitlines()
    if len(lines) <= first + last:
        return "\n".join(lines)
    return "\n".join(lines[:first] + ["    ..."] + (lines[-last:] if last else []))


def show_seed(out: pathlib.Path) -> bool:
    seed = example("seed_fork_under_pressure.scn")
    console.rule("[bold]2. The seed: a fork under memory pressure, Linux 3.0-rc2 against 3.0")
    console.print(f"  {seed.name}: P1 forks while P0's threads fill a 256-page zone;")
    console.print("  anon_vma_clone() holds the anon_vma root mutex across its allocations.\n")

    console.print(f"[bold]v3.0-rc2[/bold]: exploring schedules (PCT, up to {BUDGET} runs)")
    bad = explore(seed, strategy="pct", seed=2, budget_runs=BUDGET, out_dir=out)
    if bad.failure is None:
        console.print("  [red]no deadlock found[/red]")
        return False
    console.print(f"  [red]deadlock[/red] in run {bad.failing_run} "
                  f"({bad.runs_per_second:.0f} runs/s):")
    console.print(excerpt(bad.failure.text, 23), markup=False)
    deadlock = [l for l in bad.failure.text.splitlines() if "waits for" in l]
    console.print("\n".join(deadlock), markup=False)
    if bad.shrunk_lines:
        console.print(f"  the scenario shrunk from {bad.shrunk_lines[0]} to {bad.shrunk_lines[1]} lines")
    console.print(f"  replay it: [bold]{bad.saved['replay']}[/bold]\n")

    text = pathlib.Path(bad.saved["scenario"]).read_text().replace("set lockdep off", "set lockdep on")
    run = execute(Session(parse(text, "seed"), Config(checks=False)), Replay(bad.schedule))
    report = next((t for kind, t in run.reports if kind == "lockdep"), None)
    console.print("[bold]v3.0-rc2[/bold] with lockdep (2011 RECLAIM_FS mode), same run:")
    console.print(excerpt(report or "  no report", 14, 12), markup=False)

    console.print("\n[bold]v3.0[/bold] (the fix): the same exploration budget, with lockdep")
    with tempfile.TemporaryDirectory() as tmp:
        fixed = pathlib.Path(tmp) / "seed_v3.0.scn"
        fixed.write_text(seed.read_text().replace("set lockdep off", "set lockdep on"))
        good = explore(fixed, strategy="pct", seed=2, budget_runs=BUDGET, variant="v3.0")
    fallbacks = good.alloc_failures["AVC:clone/fork"]
    ok = good.failure is None
    console.print(f"  {good.runs} runs, " + ("[green]no deadlock, no lockdep report[/green]" if ok
                                            else f"[red]{good.failure.headline()}[/red]"))
    console.print(f"  anon_vma_clone's GFP_NOWAIT try failed {fallbacks} times; each time it "
                  "dropped the lock and allocated with GFP_KERNEL")

    window = example("seed_fallback_window.scn")
    console.print(f"\n[bold]v3.0[/bold], every GFP_NOWAIT try forced to fail while P0 splits, "
                  f"protects and forks the same tree ({window.name}):")
    forced = explore(window, strategy="pct", seed=1, budget_runs=BUDGET)
    ok = ok and forced.failure is None
    console.print(f"  {forced.runs} schedules, " + (
        "[green]every invariant held after every block[/green]" if forced.failure is None
        else f"[red]{forced.failure.headline()}[/red]"))
    console.print(f"  fallbacks taken: {dict(forced.alloc_failures)}")
    return ok


def show_graph(out_dir: pathlib.Path) -> pathlib.Path:
    """The seed's hierarchy when P1 has forked, as a picture in ``out_dir``."""
    import graphviz
    from .scenario import parse_file
    from .viz.graph import hierarchy_graph, run_until
    seed = example("seed_fork_under_pressure.scn")
    sc = parse_file(str(seed))
    fork = next(step for step in sc.steps if str(step) == "P0 fork P1")
    kernel, sink = run_until(sc, line=fork.lineno)
    g = hierarchy_graph(kernel, sink.name_of,
                        f"{seed.name} after line {fork.lineno} ({kernel.name})")
    what = f"\nthe seed's anon_vma hierarchy after line {fork.lineno} ({fork})"
    try:
        path = out_dir / "seed-hierarchy.svg"
        path.write_bytes(g.pipe(format="svg"))
        console.print(f"{what}, drawn: {path}")
    except graphviz.ExecutableNotFound:
        path = out_dir / "seed-hierarchy.dot"
        path.write_text(g.source)
        console.print(f"{what}, as Graphviz source (its dot is not installed): {path}")
    return path


def demo(out: str | None = None) -> int:
    """``out``: where the failure found and the picture are saved (default:
    a new temporary directory, which the demo names, so that its replay
    command works and the picture can be opened)."""
    console.print("[bold]anonvma[/bold]: the Linux anonymous reverse map, executable\n")
    ok = show_618()
    console.print()
    out_dir = pathlib.Path(out or tempfile.mkdtemp(prefix="anonvma-demo-"))
    ok = show_seed(out_dir) and ok
    show_graph(out_dir)
    console.print()
    ok = show_perf() and ok
    return 0 if ok else 1


PERF_CPUS = 16


def show_perf() -> bool:
    from .perf import report, run_workload
    console.rule("[bold]3. The seed's other claim: what the locking costs, in virtual time")
    console.print(f"  exim (MOSBENCH), {PERF_CPUS} simulated CPUs, each era's own anon_vma_clone, "
                  "unlink_anon_vmas, lock and allocator:")
    eras = ["v2.6.39", "v3.0-rc1", "v3.0"]
    runs = {(v, PERF_CPUS): run_workload("exim", v, PERF_CPUS) for v in eras}
    for table in (report.throughput_table(runs, eras, [PERF_CPUS], "messages"),
                  report.lock_share_table(runs, eras, PERF_CPUS)):
        console.print("".join(f"    {line}\n" for line in table.splitlines()), end="",
                      markup=False)
    console.print("\n  under memory pressure (a writer keeps the zone at its watermarks):")
    ok = True
    for v in ("v3.0-rc2", "v3.0"):
        r = run_workload("exim", v, PERF_CPUS, pressure=True)
        tail = report.hold_tail(r)
        console.print(f"    {v:>9}: {r.throughput:6.0f} messages/s, {r.reclaims} direct reclaims, "
                      f"{r.reclaims_locked} of them holding an anon_vma root lock; "
                      f"lock hold p99 {tail['p99_us']:.1f} us, max {tail['max_us']:.1f} us",
                      markup=False)
        if v == "v3.0":
            ok = r.reclaims_locked == 0
    console.print("  v3.0 never enters reclaim holding the lock: " + ("yes" if ok else "NO"))
    return ok
