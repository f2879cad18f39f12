"""A short, seeded round of the fuzzer (benchmarks/fuzz.py; the long run is
``python -m benchmarks.fuzz``): mutated scenario files through each command,
in-process and through the real command line, with no traceback, no hang,
and the interpreter agreeing with the model's parser."""

from __future__ import annotations

import pytest

from anonvma.oracle import OracleUnavailable, build
from benchmarks.fuzz import TARGETS, Fuzzer


def _round(target: str, inputs: int, workdir, cli: int = 0) -> Fuzzer:
    fz = Fuzzer(seed=TARGETS.index(target), workdir=str(workdir))
    for n in range(inputs):
        fz.one(n, target, cli=n < cli)
    return fz


@pytest.mark.parametrize("target", [t for t in TARGETS if t != "interp"])
def test_commands_never_traceback_or_hang(target, tmp_path):
    fz = _round(target, 40, tmp_path, cli=2)
    assert fz.problems == [], fz.summary()
    assert sum(fz.statuses.values()) == 40


def test_interpreter_agrees_with_the_model(tmp_path):
    try:
        interp = str(build.interpreter())
    except OracleUnavailable as ex:
        pytest.skip(str(ex))
    fz = Fuzzer(seed=7, workdir=str(tmp_path), interp=interp)
    for n in range(300):
        fz.one(n, "interp")
    assert fz.problems == [] and fz.disagreements == [], fz.summary()
