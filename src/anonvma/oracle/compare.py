"""Model against kernel: ``anonvma check-kernel``.

Each scenario runs on the live kernel (through the oracle) and on the model;
object events and the other lines (maps, failures) are compared separately,
and the first difference of each is shown.  ``--random N`` generates N
sequential scenarios, and every mismatch is shrunk, first through the
generator's choices (fewer and smaller: numbers shrink too), then line by
line, to the smallest scenario that still differs, then saved with the
kernel's trace.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from ..explore.programs import Choices, generate
from ..explore.shrink import delete_lines, shrink_choices
from ..scenario import ScenarioError, decode, parse, read_scenario
from ..session import Config, Session
from .errors import OracleUnavailable, interrupted
from .harness import KernelOracle, check_supported, kernel_names_vmas


@dataclass
class Comparison:
    name: str
    events: tuple[str, str] | None         # (kernel line, model line) at the first difference
    others: tuple[str, str] | None
    problems: list[str]

    @property
    def match(self) -> bool:
        return self.events is None and self.others is None and not self.problems


def first_difference(kernel: list[str], model: list[str]) -> tuple[str, str] | None:
    for i in range(max(len(kernel), len(model))):
        k = kernel[i] if i < len(kernel) else "(nothing)"
        m = model[i] if i < len(model) else "(nothing)"
        if k != m:
            return f"line {i + 1}: {k}", m
    return None


class Comparer:
    """One oracle session, many comparisons."""

    def __init__(self, oracle: KernelOracle, variant: str | None):
        self.oracle = oracle
        self.variant = variant

    def compare_text(self, text: str, name: str) -> tuple[Comparison, object]:
        kernel = self.oracle.run_text(text, name)
        model = Session(parse(text, name), Config(variant=self.variant)).run()
        return Comparison(name, first_difference(kernel.events, model.events),
                          first_difference(kernel.others, model.others), model.problems), kernel

    def differs(self, text: str) -> bool:
        try:
            return not self.compare_text(text, "candidate")[0].match
        except ScenarioError:
            return False

    def shrink(self, text: str) -> str:
        """The smallest scenario, by deleting lines, that still differs."""
        return delete_lines(text, lambda sc, cand: self.differs(cand))

    def shrink_generated(self, choices: list[int], **generator) -> str:
        """The smallest generated scenario that still differs: the
        generator's choices first, then the lines of what they generate."""
        small = shrink_choices(choices,
                               lambda c: self.differs(generate(Choices(replay=c), **generator)))
        return self.shrink(generate(Choices(replay=small), **generator))


def _report(c: Comparison) -> None:
    if c.match:
        print(f"{c.name}: match")
        return
    print(f"{c.name}: MISMATCH")
    if c.events:
        print(f"  events differ at {c.events[0]}  (model: {c.events[1]})")
    if c.others:
        print(f"  maps/failures differ at {c.others[0]}  (model: {c.others[1]})")
    for p in c.problems[:5]:
        print(f"  model check: {p}")


def _progress(total: int):
    if not sys.stdout.isatty():
        return None
    from rich.progress import Progress
    progress = Progress(transient=True)
    progress.start()
    progress.add_task("comparing random scenarios", total=total)
    return progress


def check_kernel(files: list[str], random: int = 0, seed: int = 0, save: str = "failures",
                 variant: str | None = None) -> int:
    """0 if everything matched, 1 if not, 130 on SIGINT (tracefs restored).
    Every file is checked to be a plain scenario before anything runs."""
    texts = []
    for path in files:
        text = decode(read_scenario(path), path)
        parse(text, path, plain=True)
        texts.append((path, text))
    all_match = True
    try:
        with KernelOracle() as oracle:
            print(f"comparing with the live kernel {oracle.release}")
            cmp = Comparer(oracle, variant)
            for path, text in texts:
                try:
                    check_supported(text, path)
                except OracleUnavailable as e:
                    print(f"skipped: {e}")
                    continue
                c, _kernel = cmp.compare_text(text, path)
                _report(c)
                all_match &= c.match
            if random:
                all_match &= _fuzz(cmp, random, seed, save)
    except KeyboardInterrupt:
        return interrupted()
    return 0 if all_match else 1


def _fuzz(cmp: Comparer, n: int, seed: int, save: str) -> bool:
    progress = _progress(n)
    mismatches = 0
    names = kernel_names_vmas()
    try:
        for s in range(seed, seed + n):
            choices = Choices(s)
            text = generate(choices, anon_names=names)
            c, _kernel = cmp.compare_text(text, f"random seed {s}")
            if progress is not None:
                progress.advance(progress.task_ids[0])
            if c.match:
                continue
            mismatches += 1
            small = cmp.shrink_generated(choices.recorded, anon_names=names)
            c, kernel = cmp.compare_text(small, f"random seed {s} (shrunk)")
            os.makedirs(save, exist_ok=True)
            base = os.path.join(save, f"mismatch-seed{s}")
            with open(base + ".scn", "w") as f:
                f.write(f"# anonvma check-kernel --random 1 --seed {s}, shrunk; "
                        f"{base}.expected is the live kernel's trace\n" + small)
            with open(base + ".expected", "w") as f:
                f.write("".join(line + "\n" for line in kernel.lines))
            _report(c)
            print(f"  saved {base}.scn")
    finally:
        if progress is not None:
            progress.stop()
    print(f"{n - mismatches} of {n} random scenarios (seeds {seed}..{seed + n - 1}) match")
    return mismatches == 0
