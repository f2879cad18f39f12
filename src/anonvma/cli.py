"""The ``anonvma`` command.

Every command is a thin configuration of one scenario session
(anonvma.session).  Every user mistake (a malformed scenario, an unknown
variant, an option out of range, a machine that cannot run the live oracle)
ends in one clear message on stderr and exit status 2, never in a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys

from .scenario import ScenarioError, fail_nth_value, parse_file

EXIT_FAILED = 1         # the run found a problem (mismatch, invariant, bug)
EXIT_USAGE = 2          # the input or the machine is not usable
MAX_JOBS = 128


class UserError(Exception):
    """A message for the user, then exit status 2."""


def _bounded(kind, low=None, high=None, what="a number"):
    """An argparse type: ``kind`` (int or float) within [low, high], finite."""
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (f"from {low} to {high}" if high is not None else f"at least {low}")
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {what} {bounds}")
        return value
    return convert


def _depths(text: str) -> tuple[int, int]:
    """PCT's ``--depth``: one depth D, or a range LO-HI the runs take in turn."""
    low, sep, high = text.partition("-")
    one = _bounded(int, 1, 100, "a bug depth")
    lo = one(low)
    hi = one(high) if sep else lo
    if hi < lo:
        raise argparse.ArgumentTypeError(f"{text} is an empty range: give LO-HI with LO <= HI")
    return lo, hi


def _noise(text: str) -> float:
    """contend's ``--noise``: a probability above 0, at most 1."""
    value = _bounded(float, what="a probability")(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is out of range: give a probability above 0, "
                                         "at most 1")
    return value


def _positive_seconds(text: str) -> float:
    value = _bounded(float, what="a number of seconds")(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is out of range: give a number of seconds "
                                         "above 0")
    return value


def _variant_name(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("an empty name: give a variant ('anonvma variants' "
                                         "lists them)")
    return text


def _variant_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--variant", metavar="NAME", type=_variant_name,
                   help="kernel era to model (default: the scenario's 'set variant', else the "
                   "newest); 'anonvma variants' lists them; a patch of your own is "
                   "PATH.py:Class or package.module:Class (docs/your-patch.md)")


def _fail_nth_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fail-nth", metavar="[LINE:]N",
                   help="fail the N-th slab allocation of P0 (or of the operation on line LINE), "
                   "like /proc/self/fail-nth; overrides the scenario's 'set fail_nth' "
                   "(docs/fault-injection.md)")


def _fail_nth(sc, value: str | None):
    """--fail-nth: the value of the scenario's 'set fail_nth', same grammar."""
    if value is None:
        return None
    try:
        target, nth = fail_nth_value(value)
    except ValueError:
        raise UserError(f"--fail-nth {value}: write N, or LINE:N for the operation on line "
                        "LINE") from None
    if target is not None and not any(getattr(step, "lineno", None) == target and
                                      not hasattr(step, "lines") for step in sc.steps):
        raise UserError(f"--fail-nth {value}: line {target} of {sc.path} is not an operation "
                        "outside a together block")
    return (target, nth)


def _session(args, checks: bool | str = True):
    from .session import Config, Session
    sc = parse_file(args.file)
    config = Config(variant=args.variant, checks=checks,
                    fail_nth=_fail_nth(sc, getattr(args, "fail_nth", None)))
    return Session(sc, config)


def cmd_trace(args) -> int:
    if args.kernel:
        if args.fail_nth is not None:
            raise UserError("--fail-nth works on the model only: the live kernel here is "
                            "built without CONFIG_FAILSLAB")
        from .oracle import interrupted, run_on_kernel
        try:
            lines = run_on_kernel(args.file).lines
        except KeyboardInterrupt:
            return interrupted()
    else:
        lines = _session(args, checks=False).run().lines
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def cmd_run(args) -> int:
    from .report import print_summary
    result = _session(args, checks=not args.no_checks and args.checks).run()
    print_summary(args.file, result)
    return EXIT_FAILED if result.problems else 0


def cmd_variants(args) -> int:
    from .variants import NEWEST, VARIANTS, installed_variants
    for name, cls in {**VARIANTS, **installed_variants()}.items():
        mark = " (default)" if name == NEWEST else ""
        print(f"{name:12} {cls.description}{mark}")
    return 0


def cmd_diff(args) -> int:
    from .variants import get_variant
    from .variants.diff import variant_diff
    a, b = get_variant(args.a), get_variant(args.b)
    text = variant_diff(a, b, context=args.context)
    if not text:
        print(f"{a.name} and {b.name} define every kernel function the same way")
    sys.stdout.write(text)
    return 0


def cmd_check_kernel(args) -> int:
    from .oracle.compare import check_kernel
    if args.random < 0:
        raise UserError(f"--random {args.random}: give a number of scenarios, 0 or more")
    if not args.files and not args.random:
        raise UserError("check-kernel needs scenario files, or --random N")
    return check_kernel(args.files, random=args.random, seed=args.seed, save=args.save,
                        variant=args.variant)


def _check_save_dir(path: str) -> bool:
    """--save DIR must be creatable before a long exploration, not after:
    create it now; True if it did not exist (and may be removed again)."""
    from pathlib import Path
    d = Path(path)
    created = not d.exists()
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--save {path}: cannot create the directory ({e.strerror})") from None
    return created


def _report_first(r) -> None:
    """explore --report-first: the failure as found, before shrinking."""
    sys.stdout.write(r.failure.text)
    print(f"\n(found in run {r.failing_run}, {len(r.schedule)} decisions; shrinking it)",
          flush=True)


def cmd_explore(args) -> int:
    import json
    from .explore import explore
    from .explore.parallel import PARALLEL_STRATEGIES
    from .explore.strategies import STRATEGIES
    if args.strategy not in STRATEGIES:
        raise UserError(f"unknown strategy {args.strategy!r}; one of {', '.join(STRATEGIES)}")
    if args.jobs > 1 and args.strategy not in PARALLEL_STRATEGIES:
        raise UserError(f"--jobs: more than one process works with the "
                        f"{', '.join(PARALLEL_STRATEGIES)} strategies only")
    if args.noise is not None and args.strategy != "contend":
        raise UserError(f"--noise is an option of the contend strategy, not {args.strategy}")
    sc = parse_file(args.file)
    if args.timeline:
        from pathlib import Path
        if Path(args.timeline).exists() and not Path(args.timeline).is_dir():
            raise UserError(f"--timeline {args.timeline}: not a directory")
    created = _check_save_dir(args.save)
    runs = args.runs
    if not sc.concurrent:
        runs = 1        # without a together block there is one schedule
    r = explore(args.file, strategy=args.strategy, budget_runs=runs,
                budget_seconds=args.seconds if sc.concurrent else None, seed=args.seed,
                out_dir=args.save, variant=args.variant, depth=args.depth, noise=args.noise,
                max_preemptions=args.preemptions, minimise=not args.no_shrink,
                shrink_lines=args.shrink_lines, progress=False if args.json else None, jobs=args.jobs if sc.concurrent else 1,
                on_found=_report_first if args.report_first and not args.json else None)
    if created and not r.saved.get("dir"):
        from pathlib import Path
        Path(args.save).rmdir()
    if args.json:
        print(json.dumps(r.to_json(), indent=1))
    elif r.failure is None:
        if not r.concurrent:
            how = "its one schedule (no together block)"
        elif r.exhausted:
            how = "every schedule within the bound"
        else:
            how = f"{r.runs} schedules"
        print(f"{args.file}: no problem in {how} ({r.runs_per_second:.0f}/s, {args.strategy})")
    else:
        if not (args.report_first and r.shrunk_from is None and r.shrunk_lines is None):
            sys.stdout.write(r.failure.text)
        print(f"\n{args.file}: {r.failure.headline()} (run {r.failing_run}, "
              f"{len(r.schedule)} decisions)")
        if r.saved.get("replay"):
            print(f"saved in {r.saved['dir']}; replay with:\n  {r.saved['replay']}")
    if r.failure is not None and args.timeline:
        from pathlib import Path
        d = Path(args.timeline)
        d.mkdir(parents=True, exist_ok=True)
        name = Path(r.saved["dir"]).name
        paths = [d / f"{name}.json", d / f"{name}.pftrace"]
        _replay_timeline(r.saved["scenario"], r.saved["schedule"], args.variant, paths)
        print(f"timeline in {paths[0]} and {paths[1]} (open in ui.perfetto.dev)",
              file=sys.stderr if args.json else sys.stdout)
    return EXIT_FAILED if r.failure else 0


def _timeline_path(text: str):
    """--timeline FILE: .json or .pftrace, in a directory that exists."""
    from pathlib import Path
    from .viz.timeline import TIMELINE_SUFFIXES
    path = Path(text)
    if path.suffix not in TIMELINE_SUFFIXES:
        raise UserError(f"--timeline {text}: write a file ending in .json (Chrome trace "
                        "events) or .pftrace (Perfetto protobuf)")
    if not path.parent.is_dir():
        raise UserError(f"--timeline {text}: the directory {path.parent} does not exist")
    return path


def _replay_timeline(scenario, schedule, variant, paths):
    """Replay a saved failure with a recorder on the bus; write its
    timeline to each of ``paths``.  Returns the execution."""
    from pathlib import Path
    from .explore import replay
    from .viz.timeline import Recording, write_timeline
    recording = None

    def observe(session):
        nonlocal recording
        recording = Recording(session)
        return recording

    ex = replay(scenario, schedule, variant=variant, observe=observe)
    events = recording.recorder.finish()
    for path in paths:
        write_timeline(events, path, title=Path(scenario).name)
    return ex


def cmd_replay(args) -> int:
    from .explore import ReplayMismatch, replay
    from .explore.schedule import ScheduleError
    timeline = _timeline_path(args.timeline) if args.timeline else None
    try:
        if timeline is None:
            ex = replay(args.file, args.schedule, variant=args.variant)
        else:
            ex = _replay_timeline(args.file, args.schedule, args.variant, [timeline])
    except (ScheduleError, ReplayMismatch) as e:
        raise UserError(str(e)) from None
    if timeline is not None:
        print(f"timeline in {timeline} (open it in ui.perfetto.dev)", file=sys.stderr)
    if ex.failure is None:
        print(f"{args.file}: the schedule runs without a problem")
        return 0
    sys.stdout.write(ex.failure.text)
    return EXIT_FAILED


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r}: give names separated by commas")
    return names


def cmd_campaign(args) -> int:
    import json
    import os
    import shutil
    from pathlib import Path
    from .campaign import CampaignError, make_plan, open_campaign, run_campaign
    from .campaign.backends import InProcess, Processes, RayCluster
    if args.resume and (args.files or args.generate or args.out):
        raise UserError("--resume DIR takes its plan from DIR: give no files, --generate or -o")
    if not args.resume and not args.out:
        raise UserError("campaign needs an output directory: -o DIR (or --resume DIR)")
    if args.ray is not None and args.in_process:
        raise UserError("--ray and --in-process: give one backend")
    out = args.resume or args.out
    fresh = not os.path.exists(out)
    try:
        plan = None if args.resume else make_plan(
            args.files, generate=args.generate, gen_seed=args.gen_seed,
            variants=args.variants or [None], strategies=args.strategies, seeds=args.seeds,
            runs=args.runs, shrink=not args.no_shrink, coverage=not args.no_coverage)
        plan = open_campaign(out, plan)
        jobs = args.jobs or os.cpu_count() or 1
        backend = (InProcess() if args.in_process else Processes(jobs) if args.ray is None
                   else RayCluster(None if args.ray == "local" else args.ray, jobs))

        def progress(spec, result):
            mark = result["status"] if result["status"] != "fail" else result["failure"]["kind"]
            print(f"{spec['id']}: {mark}", file=sys.stderr)

        summary = run_campaign(plan, out, backend, budget_seconds=args.seconds,
                               on_result=None if args.json else progress)
    except CampaignError as e:
        # a backend that cannot start: the directory this command made goes
        if fresh and os.path.isdir(out) and not any(Path(out, "jobs").glob("*.json")):
            shutil.rmtree(out)
        raise UserError(str(e)) from None
    except KeyboardInterrupt:
        print(f"anonvma: interrupted; the finished explorations are kept in {out}: resume with "
              f"'anonvma campaign --resume {out}'", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"{summary['done']} of {summary['explorations']} explorations, {summary['runs']} "
              f"runs, {len(summary['unique_failures'])} unique failures "
              f"({summary['failed']} failing explorations)")
        for u in summary["unique_failures"]:
            print(f"  {u['signature']}  x{len(u['explorations'])}\n    {u['replay']}")
        if summary["pending"]:
            print(f"{summary['pending']} explorations pending (budget spent): resume with "
                  f"'anonvma campaign --resume {out}'")
        print(f"report: {os.path.join(out, 'index.html')}")
    return EXIT_FAILED if summary["unique_failures"] else 0


GRAPH_FORMATS = ("svg", "png", "dot")


def cmd_graph(args) -> int:
    import graphviz
    from pathlib import Path
    from .scenario import Together
    from .viz.graph import hierarchy_graph, run_until
    out = Path(args.output) if args.output else None
    fmt = out.suffix[1:] if out else "dot"
    if fmt not in GRAPH_FORMATS:
        raise UserError(f"-o {args.output}: write a file ending in .svg, .png or .dot")
    sc = parse_file(args.file)
    last = args.line if args.line is not None else sc.steps[-1].lineno if sc.steps else 0
    upto = [step for step in sc.steps if step.lineno <= last]
    if args.line is not None and not any(step.lineno == args.line and not isinstance(step, Together)
                                         for step in sc.steps):
        raise UserError(f"--line {args.line}: line {args.line} of {args.file} is not an "
                        "operation outside a together block")
    if any(isinstance(step, Together) for step in upto):
        block = next(step for step in upto if isinstance(step, Together))
        raise UserError(f"{args.file}:{block.lineno}: a together block has no single state to "
                        f"draw: give --line N with N before line {block.lineno}")
    kernel, sink = run_until(sc, args.variant, args.line)
    g = hierarchy_graph(kernel, sink.name_of,
                        f"{args.file}" + (f" after line {args.line}" if args.line else "")
                        + f" ({kernel.name})")
    if out is None:
        sys.stdout.write(g.source)
        return 0
    if fmt == "dot":
        out.write_text(g.source)
        return 0
    try:
        data = g.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        source = out.with_suffix(".dot")
        source.write_text(g.source)
        raise UserError(f"-o {out}: Graphviz's 'dot' program is not installed (Debian: "
                        f"apt-get install graphviz; 'make demo' and 'make test' install it as "
                        f"root); wrote the graph's source to {source}") from None
    out.write_bytes(data)
    return 0


def cmd_zoo(args) -> int:
    from pathlib import Path
    from .zoo import BUGS, BY_ID, print_list, print_outcome, print_table, run_bug
    if not args.action:
        print_list(sys.stdout)
        return 0
    if args.action == "replay" and len(args.ids) in (1, 2):
        from .explore.schedule import ScheduleError
        from .zoo.cold import replay_found
        try:
            ex = replay_found(*args.ids[:1], args.ids[1] if len(args.ids) > 1 else None,
                              args.variant)
        except (OSError, ScheduleError) as e:
            raise UserError(f"zoo replay: {e}") from None
        if ex.failure is None:
            print(f"{args.ids[0]}: no report")
            return 0
        sys.stdout.write(ex.failure.text)
        return EXIT_FAILED
    if args.action != "run" or len(args.ids) != 1:
        raise UserError("write 'anonvma zoo' for the list, 'anonvma zoo run ID', "
                        "'anonvma zoo run all' or 'anonvma zoo replay FILE [SCHEDULE]'")
    wanted = args.ids[0]
    if wanted != "all" and wanted not in BY_ID:
        raise UserError(f"zoo run {wanted}: no such bug; one of {', '.join(BY_ID)} or all")
    bugs = BUGS if wanted == "all" else (BY_ID[wanted],)
    outcomes = []
    for bug in bugs:
        o = run_bug(bug, args.seconds, args.seed, Path(args.out))
        print_outcome(o, args.seconds, sys.stdout)
        print()
        outcomes.append(o)
    if wanted == "all":
        print_table(outcomes, sys.stdout)
    broken = any(o.fixed_found is not None for o in outcomes)
    return EXIT_FAILED if broken else 0


def cmd_demo(args) -> int:
    from .demo import demo
    return demo(args.out)


def cmd_perf(args) -> int:
    import os
    from .perf.command import PerfError, perf
    from .variants import get_variant
    try:
        for v in args.variants or ():
            get_variant(v)
        if args.plot and not os.path.isdir(args.plot):
            raise PerfError(f"--plot {args.plot}: not a directory")
        for option, path in (("--trace", args.trace), ("--write", args.write)):
            if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise PerfError(f"{option} {path}: no such directory")
        if args.workload == "calibrate":
            from .perf.calibrate import calibrate
            return calibrate(args.write)
        return perf(args)
    except PerfError as e:
        raise UserError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anonvma",
        description="An executable model of Linux anonymous reverse mapping (anon_vma), "
        "checked against the live kernel.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("trace", help="print a scenario's trace lines (docs/scenario-format.md)")
    p.add_argument("file")
    p.add_argument("--kernel", action="store_true",
                   help="run the scenario on the live kernel instead of the model (root)")
    _variant_arg(p)
    _fail_nth_arg(p)
    p.set_defaults(fn=cmd_trace)

    p = sub.add_parser("run", help="run a scenario on the model and summarise it, with all checks")
    p.add_argument("file")
    p.add_argument("--no-checks", action="store_true", help="skip the invariant checks")
    p.add_argument("--checks", choices=("scoped", "full"), default="scoped",
                   help="after each line, check what it touched (default) or walk the whole "
                        "state; both report the same")
    _variant_arg(p)
    _fail_nth_arg(p)
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("check-kernel",
                       help="run scenarios on the live kernel and on the model and compare them")
    p.add_argument("files", nargs="*")
    p.add_argument("--random", type=int, metavar="N", default=0,
                   help="also generate and compare N random scenarios")
    p.add_argument("--seed", type=_bounded(int, 0, 2**63, "a seed"), default=0,
                   help="first seed for --random")
    p.add_argument("--save", metavar="DIR", default="failures",
                   help="where minimised mismatches are saved (default: failures/)")
    _variant_arg(p)
    p.set_defaults(fn=cmd_check_kernel)

    p = sub.add_parser("explore", help="run a concurrent scenario under many schedules and "
                       "stop at the first problem (lockdep, hung task, invariant, leak)")
    p.add_argument("file")
    p.add_argument("--strategy", default="random", metavar="NAME",
                   help="sequential, random, pct, contend or dfs (default: random)")
    p.add_argument("--runs", type=_bounded(int, 1, 10**9, "a number of runs"), metavar="N",
                   help="budget of runs (default: 1000 unless --seconds is given)")
    p.add_argument("--seconds", type=_positive_seconds, metavar="S", help="budget of time")
    p.add_argument("--seed", type=_bounded(int, 0, 2**63, "a seed"), default=0,
                   help="seed of random, pct and contend (default: 0)")
    p.add_argument("--depth", type=_depths, metavar="D|LO-HI",
                   help="pct: bug depth d, or a range of depths the runs take in turn "
                   "(default: 1-3); contend: the same change points (default: 1, none)")
    p.add_argument("--noise", type=_noise, metavar="P",
                   help="contend: the probability that a task yielding or finding a lock "
                   "held is delayed behind every other task (default: 0.25)")
    p.add_argument("--preemptions", type=_bounded(int, 0, 100, "a number of preemptions"),
                   default=2, help="dfs: preemption bound (default: 2)")
    p.add_argument("--save", metavar="DIR", default="failures",
                   help="where a failing scenario and its schedule are saved (default: failures/)")
    p.add_argument("--no-shrink", action="store_true", help="keep the failing schedule as found")
    p.add_argument("--shrink-lines", type=_bounded(int, 1, 10**9, "a number of lines"),
                   metavar="N", help="what shrinking may cost, in scenario lines run "
                   "(default: what the search ran, at least 1000)")
    p.add_argument("--report-first", action="store_true",
                   help="print the report as found, then shrink (and print it again if "
                   "shrinking changed it)")
    p.add_argument("--jobs", type=_bounded(int, 1, MAX_JOBS, "a number of processes"),
                   default=1, metavar="N",
                   help="random, pct and contend: explore in N processes, each with its own seed "
                   "(default 1)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--timeline", metavar="DIR",
                   help="write the failing run's timeline to DIR as NAME.json and "
                   "NAME.pftrace (Perfetto's UI opens both)")
    _variant_arg(p)
    p.set_defaults(fn=cmd_explore)

    p = sub.add_parser("campaign", help="many explorations (files or generated programs x "
                       "variants x strategies x seeds), failures deduplicated, coverage, an "
                       "HTML report; resumable (docs/campaigns.md)")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--generate", type=_bounded(int, 0, 10**6, "a number of programs"),
                   default=0, metavar="N", help="also explore N generated concurrent programs")
    p.add_argument("--gen-seed", type=_bounded(int, 0, 2**63, "a seed"), default=0,
                   metavar="S", help="seed of the first generated program (default 0)")
    p.add_argument("--variants", type=_names, metavar="A,B,...",
                   help="variants to explore on (default: each scenario's own)")
    p.add_argument("--strategies", type=_names, default=["random", "pct"], metavar="A,B",
                   help="strategies (default: random,pct)")
    p.add_argument("--seeds", type=_bounded(int, 1, 10**6, "a number of seeds"), default=1,
                   metavar="N", help="seeds 0..N-1 of each seeded strategy (default 1)")
    p.add_argument("--runs", type=_bounded(int, 1, 10**9, "a number of runs"), default=200,
                   metavar="N", help="budget of runs of each exploration (default 200)")
    p.add_argument("--seconds", type=_positive_seconds, metavar="S",
                   help="budget of the campaign: start no exploration after S seconds (the "
                   "rest stays pending for a resume)")
    p.add_argument("-o", "--out", metavar="DIR", help="the campaign's directory (state, "
                   "failures, summary.json, index.html); the same command again resumes it")
    p.add_argument("--resume", metavar="DIR", help="finish the campaign in DIR")
    p.add_argument("--jobs", type=_bounded(int, 1, MAX_JOBS, "a number of workers"),
                   metavar="N", help="explorations at once (default: the number of CPUs)")
    p.add_argument("--in-process", action="store_true",
                   help="run the explorations one by one in this process")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on Ray: a local cluster started for the campaign, or the "
                   "cluster at ADDRESS (pip install 'anonvma[ray]')")
    p.add_argument("--no-shrink", action="store_true", help="keep failing schedules as found")
    p.add_argument("--no-coverage", action="store_true",
                   help="do not profile runs for coverage")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(fn=cmd_campaign)

    p = sub.add_parser("replay", help="replay a saved failure from its scenario and schedule")
    p.add_argument("file")
    p.add_argument("schedule")
    p.add_argument("--timeline", metavar="FILE",
                   help="write the run as a timeline Perfetto's UI opens: out.json (Chrome "
                   "trace events) or out.pftrace (Perfetto protobuf)")
    _variant_arg(p)
    p.set_defaults(fn=cmd_replay)

    p = sub.add_parser("variants", help="list the kernel eras the model knows, and those "
                       "installed packages register")
    p.set_defaults(fn=cmd_variants)

    p = sub.add_parser("diff", help="the kernel functions two variants define differently, "
                                    "as a unified diff of their source")
    p.add_argument("a", metavar="A", help="the older variant, e.g. v3.0-rc2")
    p.add_argument("b", metavar="B", help="the newer variant, e.g. v3.0, or a patch of "
                   "your own: PATH.py:Class")
    p.add_argument("-U", "--context", type=_bounded(int, 0, 1000, "a number of lines"),
                   default=3, metavar="N", help="lines of context (default 3)")
    p.set_defaults(fn=cmd_diff)

    p = sub.add_parser("graph", help="draw the anon_vma hierarchy after a plain scenario (or "
                       "its line N) with Graphviz: VMAs, chains, anon_vmas, trees, folios")
    p.add_argument("file")
    p.add_argument("--line", type=_bounded(int, 1, 1 << 20, "a line number"), metavar="N",
                   help="stop after the operation on line N")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="out.svg, out.png or out.dot (default: the dot source on stdout)")
    _variant_arg(p)
    p.set_defaults(fn=cmd_graph)

    p = sub.add_parser("perf", help="a workload (exim, mmap-merge, fork_test) in virtual time "
                       "on N simulated CPUs per era: throughput, lock profile, lock_stat "
                       "(docs/performance.md); 'perf calibrate' measures the live kernel")
    p.add_argument("workload", metavar="WORKLOAD",
                   help="exim, mmap-merge, fork_test, or calibrate")
    p.add_argument("--variant", dest="variants", action="append", metavar="NAME",
                   type=_variant_name, help="an era to compare (repeat; the first is the "
                   "baseline; default v2.6.39, v3.0-rc1, v3.0)")
    p.add_argument("--cpus", default="1,2,4,8,16,40", metavar="N,N,...",
                   help="simulated CPU counts (tasks for mmap-merge); default 1,2,4,8,16,40")
    p.add_argument("--seed", type=_bounded(int, 0, 2**32 - 1), default=0,
                   help="seed of the cost jitter and the kernel's random choices")
    p.add_argument("--costs", metavar="FILE", help="a JSON file of costs over the package's")
    p.add_argument("--pressure", action="store_true",
                   help="run with memory pressure: allocations enter direct reclaim")
    p.add_argument("--preempt", choices=("voluntary", "full"), default="voluntary",
                   help="the preemption model: voluntary (CONFIG_PREEMPT_VOLUNTARY, the "
                   "default) preempts a mutex holder only at might_resched(); full "
                   "(CONFIG_PREEMPT) wherever no spinlock is held")
    p.add_argument("--debug-locks", action="store_true",
                   help="a kernel built with CONFIG_DEBUG_SPINLOCK and CONFIG_DEBUG_MUTEXES: "
                   "a test-and-set spinlock, a mutex without fast path or optimistic "
                   "spinning whose lock and unlock both take wait_lock")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--plot", metavar="DIR", help="write PNG and SVG plots into DIR")
    p.add_argument("--trace", metavar="FILE",
                   help="write a Perfetto trace of the last variant at the most CPUs")
    p.add_argument("--write", metavar="FILE",
                   help="calibrate: write the costs there (default: print them)")
    p.set_defaults(fn=cmd_perf)

    p = sub.add_parser("zoo", help="the historical anon_vma bugs: list them, or find one "
                       "from cold on its era and check its fix (docs/zoo.md)")
    p.add_argument("action", nargs="?", metavar="run|replay",
                   help="run: search for a bug; replay: run a reproducer it wrote")
    p.add_argument("ids", nargs="*", metavar="ID",
                   help="run: a bug id from the list, or all; replay: FILE [SCHEDULE]")
    p.add_argument("--seconds", type=_positive_seconds, default=60.0, metavar="N",
                   help="budget of each search, per era (default 60)")
    p.add_argument("--seed", type=_bounded(int, 0, 2**63, "a seed"), default=0,
                   help="seed of the generated programs (default 0)")
    p.add_argument("--out", metavar="DIR", default="zoo",
                   help="where reproducers and pictures are written (default: zoo/)")
    _variant_arg(p)
    p.set_defaults(fn=cmd_zoo)

    p = sub.add_parser("demo", help="the main job: show what the model does")
    p.add_argument("--out", metavar="DIR",
                   help="where the demo saves the failure it finds (default: a temporary "
                   "directory)")
    p.set_defaults(fn=cmd_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .oracle import OracleUnavailable
    from .variants import UnknownVariant, get_variant
    try:
        if getattr(args, "variant", None):
            get_variant(args.variant)       # a bad patch is a message before anything runs
        return args.fn(args)
    except ScenarioError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE
    except (UserError, OracleUnavailable, UnknownVariant) as e:
        print(f"anonvma: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
