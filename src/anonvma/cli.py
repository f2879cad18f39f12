"""The ``anonvma`` command.

Every user mistake (a malformed scenario, an unknown variant, a machine
that cannot run the live oracle) ends in one clear message on stderr and a
non-zero exit status, never in a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .scenario import ScenarioError, parse_file

EXIT_FAILED = 1         # the run found a problem (mismatch, invariant, bug)
EXIT_USAGE = 2          # the input or the machine is not usable


class UserError(Exception):
    """A message for the user, then exit status 2."""


def _variant_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--variant", metavar="NAME",
                   help="kernel era to model (default: the scenario's 'set variant', else the "
                   "newest); 'anonvma variants' lists them")


def _load(path: str):
    return parse_file(path)


def cmd_trace(args) -> int:
    if args.kernel:
        from .oracle import run_on_kernel
        sc = _load(args.file)
        if sc.concurrent:
            raise UserError(f"{args.file}: the live kernel runs only plain (sequential) scenarios")
        lines = run_on_kernel(args.file).lines
    else:
        from .model import run_model
        lines = run_model(_load(args.file), variant=args.variant).lines
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def cmd_run(args) -> int:
    from .model import run_model
    from .report import print_summary
    result = run_model(_load(args.file), variant=args.variant, checks=not args.no_checks)
    print_summary(args.file, result)
    return EXIT_FAILED if result.problems else 0


def cmd_variants(args) -> int:
    from .variants import VARIANTS, NEWEST
    for name, cls in VARIANTS.items():
        mark = " (default)" if name == NEWEST else ""
        print(f"{name:12} {cls.description}{mark}")
    return 0


def cmd_check_kernel(args) -> int:
    from .oracle.compare import check_kernel
    if not args.files and not args.random:
        raise UserError("check-kernel needs scenario files, or --random N")
    return check_kernel(args.files, random=args.random, seed=args.seed, save=args.save,
                        variant=args.variant)


def cmd_demo(args) -> int:
    from .demo import demo
    return demo()


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
    p.set_defaults(fn=cmd_trace)

    p = sub.add_parser("run", help="run a scenario on the model and summarise it, with all checks")
    p.add_argument("file")
    p.add_argument("--no-checks", action="store_true", help="skip the invariant checks")
    _variant_arg(p)
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("check-kernel",
                       help="run scenarios on the live kernel and on the model and compare them")
    p.add_argument("files", nargs="*")
    p.add_argument("--random", type=int, metavar="N", default=0,
                   help="also generate and compare N random scenarios")
    p.add_argument("--seed", type=int, default=0, help="first seed for --random")
    p.add_argument("--save", metavar="DIR", default="failures",
                   help="where minimised mismatches are saved (default: failures/)")
    _variant_arg(p)
    p.set_defaults(fn=cmd_check_kernel)

    p = sub.add_parser("variants", help="list the kernel eras the model knows")
    p.set_defaults(fn=cmd_variants)

    p = sub.add_parser("demo", help="the main job: show what the model does")
    p.set_defaults(fn=cmd_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .oracle import OracleUnavailable
    from .variants import UnknownVariant
    try:
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
