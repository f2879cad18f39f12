"""python -m anonvma.oracle FILE...: print the live kernel's trace lines of
scenario files (events, then maps and failure lines), in one tracefs session.
"""

from __future__ import annotations

import argparse
import sys

from ..scenario import ScenarioError, parse_file
from . import KernelOracle, OracleError, OracleUnavailable, interrupted


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m anonvma.oracle", description=__doc__)
    ap.add_argument("files", nargs="+", metavar="FILE")
    ap.add_argument("--raw", action="store_true", help="also print the raw tracefs text")
    args = ap.parse_args(argv)
    try:
        for path in args.files:
            parse_file(path, plain=True)
        with KernelOracle() as oracle:
            for path in args.files:
                run = oracle.run(path)
                if len(args.files) > 1:
                    print(f"== {path}")
                if args.raw:
                    print(run.raw, end="")
                print("\n".join(run.lines))
    except ScenarioError as ex:
        print(ex, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return interrupted()
    except (OracleUnavailable, OracleError) as ex:
        print(f"oracle: {ex}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
