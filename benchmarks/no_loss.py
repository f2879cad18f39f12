"""Speed without loss: what exploration reports, computed by this tree and
by an earlier revision of it, compared byte for byte.

    python -m benchmarks.no_loss [--against REV] [--runs N]

For the seed on v3.0-rc2 (its hung task, and with lockdep on its lockdep
report) and for the concurrent scenarios the tests explore (the shipped
examples with a together block, the bug zoo's concurrent reproducers), each
under PCT and random scheduling:

- the reports (kind and text, in order) of each of the first ``--runs``
  runs of the strategy, and the decisions each run took;
- the failure ``explore`` saves (scenario, schedule.json, report.txt) as
  found, and shrunk.

``--against REV`` extracts REV's ``src`` (``git archive``) into a temporary
directory, computes the same there in a child process, and prints every
difference; the exit status is 1 if there is one.  Without it the figures
of this tree are printed as JSON (what the child hands back).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "src" / "anonvma" / "examples"
REPRODUCERS = ROOT / "tests" / "zoo" / "reproducers"


def cases() -> list[tuple[str, str, dict]]:
    """(name, scenario text, explore arguments): every concurrent scenario
    of the examples and the zoo, the seed twice."""
    seed = (EXAMPLES / "seed_fork_under_pressure.scn").read_text()
    out = [("seed-hung-task", seed, dict(variant="v3.0-rc2", strategy="pct", seed=2)),
           ("seed-lockdep", seed.replace("set lockdep off", "set lockdep on"),
            dict(variant="v3.0-rc2", strategy="pct", seed=0))]
    for path in sorted(EXAMPLES.glob("*.scn")) + sorted(REPRODUCERS.glob("*.scn")):
        text = path.read_text()
        if path.name == "seed_fork_under_pressure.scn" or "\ntogether" not in text:
            continue
        for strategy in ("pct", "random"):
            out.append((f"{path.stem}-{strategy}", text, dict(strategy=strategy, seed=1)))
    return out


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def compute(runs: int, budget: int) -> dict:
    """What this interpreter's ``anonvma`` reports for every case."""
    from anonvma.explore import explore
    from anonvma.explore.runner import execute
    from anonvma.explore.strategies import make_strategy
    from anonvma.scenario import parse
    from anonvma.session import Config, Session

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text, kwargs in cases():
            scn = pathlib.Path(tmp) / f"{name}.scn"
            scn.write_text(text)
            session = Session(parse(text, str(scn)), Config(variant=kwargs.get("variant"),
                                                             trace=False))
            strategy = make_strategy(kwargs["strategy"], seed=kwargs["seed"])
            each = []
            for _ in range(runs):
                strategy.new_execution()
                ex = execute(session, strategy)
                each.append(digest(repr((ex.schedule, ex.reports)).encode()))
            found = {"runs": each}
            for minimise in (False, True):
                d = pathlib.Path(tmp) / f"{name}-{minimise}"
                r = explore(scn, budget_runs=budget, out_dir=d, progress=False,
                            minimise=minimise, **kwargs)
                saved = {}
                if r.failure is not None:
                    for p in sorted(pathlib.Path(r.saved["dir"]).iterdir()):
                        saved[p.name] = p.read_text()
                found["shrunk" if minimise else "as found"] = saved
            out[name] = found
    return out


def differences(before: dict, after: dict) -> list[str]:
    lines = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name, {}), after.get(name, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) == b.get(key):
                continue
            if key == "runs":
                i = next(i for i, (x, y) in enumerate(zip(a[key] + [None], b[key] + [None]))
                         if x != y)
                lines.append(f"{name}: run {i + 1} reports or decides otherwise")
            else:
                for f in sorted(set(a.get(key, {})) | set(b.get(key, {}))):
                    if a.get(key, {}).get(f) != b.get(key, {}).get(f):
                        lines.append(f"{name}: the saved {f} ({key}) differs")
    return lines


def compute_at(rev: str, runs: int, budget: int) -> dict:
    """``compute`` with the ``src`` of revision ``rev``: its tree extracted
    beside this one's cases and run in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = pathlib.Path(tmp) / "src.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "src"],
                       check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(pathlib.Path(tmp) / "src"),
                                                            str(ROOT)]))
        child = subprocess.run([sys.executable, "-m", "benchmarks.no_loss", "--runs", str(runs),
                                "--budget", str(budget)], env=env, cwd=tmp, check=True,
                               stdout=subprocess.PIPE, text=True)
        return json.loads(child.stdout)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", metavar="REV", help="the revision to compare with")
    ap.add_argument("--runs", type=int, default=40, help="runs compared per case")
    ap.add_argument("--budget", type=int, default=600, help="explore's budget of runs")
    args = ap.parse_args(argv)
    if args.against is None:
        json.dump(compute(args.runs, args.budget), sys.stdout)
        return 0
    before = compute_at(args.against, args.runs, args.budget)
    after = compute(args.runs, args.budget)
    diff = differences(before, after)
    n = sum(len(case["runs"]) for case in after.values())
    saved = sum(len(case[k]) > 0 for case in after.values() for k in ("as found", "shrunk"))
    print(f"{len(after)} cases, {n} runs, {saved} saved failures compared with {args.against}: "
          + ("no difference" if not diff else f"{len(diff)} differences"))
    for line in diff:
        print("  " + line)
    return 1 if diff else 0


if __name__ == "__main__":
    raise SystemExit(main())
