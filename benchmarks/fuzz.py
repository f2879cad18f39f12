"""Fuzzing the command line: mutated scenario files (and schedules) fed to
``anonvma trace``, ``run``, ``explore --runs 3``, ``replay`` and the live
oracle's interpreter (``interp -c``), asserting no traceback (exit status
0, 1 or 2, no "Traceback" on stderr) and no hang (a time limit per input);
for the interpreter, also the same verdict and line as the model's parser.

    python -m benchmarks.fuzz [--inputs N] [--seconds S] [--seed S] [--cli N]

The inputs are mutations of the scenario files under tests/scenarios and
examples/: lines deleted, duplicated, moved or borrowed from another file;
tokens replaced by edge cases (numbers at 2^32, non-ASCII digits, signs,
underscores, odd separators, set/together lines); bytes inserted, flipped
or made invalid UTF-8.  Most inputs run in-process through
``anonvma.cli.main``; ``--cli N`` of them also through ``python -m anonvma``.
tests/fuzz runs a short, seeded round of the same.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIRS = (ROOT / "tests" / "scenarios", ROOT / "examples")
TARGETS = ("trace", "run", "explore", "replay", "interp")
TIME_LIMIT = 10.0               # seconds per input

NUMBERS = ("0", "1", "4", "0x10", "4294967295", "0xffffffff", "4294967296", "0x100000000",
           "-1", "+4", "1_0", "0X4", "0x", "08", "\u00b2", "\u0663", "\U0001d7d5", "\uff14",
           "1e3", "9" * 30, "0" * 40 + "7", "2147483648", "9223372036854775808")
WORDS = ("mmap", "munmap", "mprotect", "madvise", "mremap", "read", "write", "fork", "exit",
         "maps", "to", "dontunmap", "rw", "r", "none", "rwx", "pageout", "dontfork",
         "wipeonfork", "P0", "P1", "P2", "0P", "A" * 40, "set", "together", "end", "#", "")
SEPARATORS = (" ", "\t", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
              "\u00a0", "\r\n")
SETTINGS = ("set swap {n}", "set memory {n}", "set failslab.probability {n}",
            "set failslab.interval {n}", "set failslab.times {n}", "set failslab.space {n}",
            "set failslab.seed {n}", "set failslab.verbose {n}", "set fail_nth {n}",
            "set fail_nth {n}:{n}", "set failslab.ignore_gfp_wait {w}", "set lockdep {w}",
            "set variant {w}", "set make_it_fail {w}", "set failslab.cache {w}")
RAW_BYTES = (b"\x00", b"\xff", b"\xe9", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90",
             b"\xef\xbb\xbf", b"\r", b"\n", b"#")


def corpus() -> list[bytes]:
    return [p.read_bytes() for d in CORPUS_DIRS for p in sorted(d.rglob("*.scn"))]


# -- mutation --------------------------------------------------------------------------

def _edge_token(rng: random.Random) -> str:
    return rng.choice(NUMBERS) if rng.random() < 0.6 else rng.choice(WORDS)


def _mutate_lines(rng: random.Random, lines: list[str], others: list[bytes]) -> None:
    i = rng.randrange(len(lines) + 1)
    kind = rng.randrange(8)
    if kind == 0 and lines:
        del lines[min(i, len(lines) - 1)]
    elif kind == 1 and lines:
        lines.insert(i, rng.choice(lines))
    elif kind == 2 and len(lines) > 1:
        j = rng.randrange(len(lines))
        k = rng.randrange(len(lines))
        lines[j], lines[k] = lines[k], lines[j]
    elif kind == 3:
        donor = rng.choice(others).decode("utf-8", "replace").split("\n")
        lines.insert(i, rng.choice(donor))
    elif kind == 4:
        lines.insert(rng.randrange(len(lines) + 1) if rng.random() < 0.3 else 0,
                     rng.choice(SETTINGS).format(n=rng.choice(NUMBERS), w=rng.choice(WORDS)))
    elif kind == 5:
        lines[i:i] = ["together", rng.choice(lines) if lines else "P0 maps", "end"]
    elif lines:
        # a token replaced, inserted or joined by an odd separator
        j = min(i, len(lines) - 1)
        words = lines[j].split(" ")
        w = rng.randrange(len(words) + 1)
        if kind == 6:
            words[min(w, len(words) - 1)] = _edge_token(rng)
        else:
            words.insert(w, _edge_token(rng))
        lines[j] = rng.choice(SEPARATORS).join(words) if rng.random() < 0.3 else " ".join(words)


def _mutate_bytes(rng: random.Random, data: bytearray) -> None:
    i = rng.randrange(len(data) + 1)
    kind = rng.randrange(4)
    if kind == 0:
        data[i:i] = rng.choice(RAW_BYTES)
    elif kind == 1 and data:
        j = min(i, len(data) - 1)
        data[j] ^= 1 << rng.randrange(8)
    elif kind == 2 and data:
        del data[min(i, len(data) - 1):]
    else:
        data[i:i] = rng.choice(SEPARATORS).encode()


def mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    """One mutant of a corpus file: a few line edits, sometimes a byte edit."""
    lines = rng.choice(seeds).decode("utf-8", "replace").split("\n")
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        _mutate_lines(rng, lines, seeds)
    data = bytearray("\n".join(lines).encode())
    if rng.random() < 0.25:
        for _ in range(rng.randint(1, 3)):
            _mutate_bytes(rng, data)
    return bytes(data)


def _decision(rng: random.Random) -> dict:
    if rng.random() < 0.8:
        runnable = [rng.randrange(-1, 8) for _ in range(rng.randrange(0, 5))]
        return {"pick": rng.randrange(-2, 8), "runnable": runnable,
                "current": rng.choice([None, 1, 2, 3, -1, "x"])}
    return {"draw": rng.randrange(-2, 6), "n": rng.randrange(-1, 6)}


def mutate_schedule(rng: random.Random) -> bytes:
    """A schedule file: well-formed, shifted, huge, negative, nested, broken,
    of the old untyped format."""
    decisions = [_decision(rng) for _ in range(rng.randrange(0, 40))]
    kind = rng.randrange(7)
    if kind == 0:
        return json.dumps({"format": "anonvma-schedule/2", "decisions": decisions}).encode()
    if kind == 1:
        choices = [rng.randrange(-2, 6) for _ in range(rng.randrange(0, 40))]
        return json.dumps({"format": "anonvma-schedule/1", "choices": choices}).encode()
    if kind == 2:
        return json.dumps({"format": "anonvma-schedule/2",
                           "decisions": [{"pick": 10**30, "runnable": [True, 1.5, "1"]}]}).encode()
    if kind == 3:
        depth = rng.choice((10, 1000, 100000))
        return b"[" * depth + b"]" * depth
    if kind == 4:
        text = json.dumps({"format": "anonvma-schedule/2", "decisions": decisions})
        return text[:rng.randrange(1, 40)].encode()
    if kind == 5:
        return json.dumps({"format": "anonvma-schedule/2", "decisions": decisions,
                           "variant": rng.choice(["v3.0", "v6.18", "", 7])}).encode()
    return bytes(rng.randrange(256) for _ in range(rng.randrange(40)))


# -- verdicts ------------------------------------------------------------------------------

_ERROR_LINE = re.compile(r":(\d+): error: ")


def model_verdict(path: str) -> tuple[bool, int | None]:
    """(accepted, line of the error) of the model's parser, for the live kernel."""
    from anonvma.scenario import ScenarioError, parse_file
    try:
        parse_file(path, plain=True)
    except ScenarioError as e:
        return False, e.lineno
    return True, None


def interp_verdict(interp: str, path: str) -> tuple[bool, int | None]:
    """(accepted, line of the error) of ``interp -c``; any other outcome
    (a crash, a message in another form) raises AssertionError."""
    res = subprocess.run([interp, "-c", path], capture_output=True, timeout=TIME_LIMIT)
    if res.returncode == 0:
        return True, None
    err = res.stderr.decode(errors="replace")
    m = _ERROR_LINE.search(err)
    if res.returncode != 2 or not err.startswith(path) or m is None:
        raise AssertionError(f"interp -c {path}: exit {res.returncode}: {err!r}")
    return False, int(m.group(1))


# -- running one input ----------------------------------------------------------------------

class Hang(BaseException):
    """The input ran past its time limit."""


def _alarm(signum, frame):
    raise Hang


@dataclass
class Outcome:
    status: int | None          # exit status, None for a traceback or a hang
    problem: str = ""           # the traceback or "hang"


def run_in_process(argv: list[str], limit: float = TIME_LIMIT) -> Outcome:
    """``anonvma ARGV`` through anonvma.cli.main, output swallowed."""
    from anonvma.cli import main
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as e:
                status = e.code if isinstance(e.code, int) else 2
    except Hang:
        return Outcome(None, "hang")
    except Exception:
        return Outcome(None, traceback.format_exc())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    if status not in (0, 1, 2) or "Traceback" in err.getvalue():
        return Outcome(None, f"exit {status}: {err.getvalue()[-2000:]}")
    return Outcome(status)


def run_cli(argv: list[str], limit: float = TIME_LIMIT) -> Outcome:
    """``python -m anonvma ARGV`` in a process of its own."""
    try:
        res = subprocess.run([sys.executable, "-m", "anonvma", *argv], capture_output=True,
                             text=True, timeout=limit, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Outcome(None, "hang")
    if res.returncode not in (0, 1, 2) or "Traceback" in res.stderr:
        return Outcome(None, f"exit {res.returncode}: {res.stderr[-2000:]}")
    return Outcome(res.returncode)


@dataclass
class Fuzzer:
    seed: int = 0
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="anonvma-fuzz-"))
    interp: str | None = None
    inputs: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    problems: list[tuple[str, str, str]] = field(default_factory=list)   # (target, file, what)
    disagreements: list[tuple[str, tuple, tuple]] = field(default_factory=list)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.seeds = corpus()

    def argv(self, target: str, scn: str) -> list[str]:
        if target == "explore":
            return ["explore", scn, "--runs", "3", "--save", os.path.join(self.workdir, "saved"),
                    "--seed", str(self.rng.randrange(100))]
        if target == "replay":
            sched = os.path.join(self.workdir, "schedule.json")
            Path(sched).write_bytes(mutate_schedule(self.rng))
            return ["replay", scn, sched]
        extra = []
        if self.rng.random() < 0.1:
            extra = ["--fail-nth", self.rng.choice(NUMBERS)]
        if self.rng.random() < 0.1:
            extra += ["--variant", self.rng.choice(("v3.0", "v3.0-rc2", "v2.6.39", "", "v9"))]
        return [target, scn, *extra]

    def one(self, n: int, target: str, cli: bool = False) -> None:
        scn = os.path.join(self.workdir, f"input-{n % 2}.scn")
        data = mutate(self.rng, self.seeds)
        Path(scn).write_bytes(data)
        self.inputs[target] += 1
        if target == "interp":
            self.differential(scn, data)
            return
        argv = self.argv(target, scn)
        outcome = (run_cli if cli else run_in_process)(argv)
        self.statuses[outcome.status] += 1
        if outcome.status is None:
            saved = os.path.join(self.workdir, f"problem-{len(self.problems)}.scn")
            Path(saved).write_bytes(data)
            self.problems.append((" ".join(argv[:1] + argv[2:]), saved, outcome.problem))

    def differential(self, scn: str, data: bytes) -> None:
        try:
            got = interp_verdict(self.interp, scn)
        except (AssertionError, subprocess.TimeoutExpired) as e:
            self.problems.append(("interp -c", scn, str(e)))
            return
        want = model_verdict(scn)
        self.statuses[0 if got[0] else 2] += 1
        if got != want:
            saved = os.path.join(self.workdir, f"disagreement-{len(self.disagreements)}.scn")
            Path(saved).write_bytes(data)
            self.disagreements.append((saved, want, got))

    def run(self, inputs: int, seconds: float | None = None, cli: int = 0) -> None:
        if self.interp is None:
            from anonvma.oracle import build
            self.interp = str(build.interpreter())
        deadline = None if seconds is None else time.monotonic() + seconds
        for n in range(inputs):
            if deadline is not None and time.monotonic() > deadline:
                break
            self.one(n, TARGETS[n % len(TARGETS)], cli=n // len(TARGETS) < cli)

    def summary(self) -> str:
        total = sum(self.inputs.values())
        per = ", ".join(f"{t} {self.inputs[t]}" for t in TARGETS)
        hangs = sum(1 for p in self.problems if p[2] == "hang")
        return (f"fuzz: {total} inputs ({per}); {len(self.problems) - hangs} tracebacks, "
                f"{hangs} hangs, {len(self.disagreements)} parser disagreements "
                f"(model vs interpreter); exit statuses {dict(self.statuses)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=100000, help="inputs in all (default 100000)")
    ap.add_argument("--seconds", type=float, help="stop after this long")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cli", type=int, default=20,
                    help="rounds of the targets that also go through python -m anonvma "
                    "(default 20)")
    args = ap.parse_args(argv)
    fz = Fuzzer(args.seed)
    start = time.monotonic()
    fz.run(args.inputs, args.seconds, args.cli)
    print(fz.summary() + f" in {time.monotonic() - start:.0f} s; inputs kept in {fz.workdir}")
    kinds = Counter()
    for target, path, what in fz.problems:
        last = what.strip().splitlines()[-1] if what.strip() else what
        kinds[(target.split()[0], last)] += 1
        if kinds[(target.split()[0], last)] == 1:
            print(f"-- {target} {path}\n{what.rstrip()}")
    for (target, last), count in kinds.most_common():
        print(f"{count:6} {target}: {last}")
    for path, want, got in fz.disagreements[:20]:
        print(f"disagreement {path}: model {want}, interpreter {got}")
    return 1 if fz.problems or fz.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
