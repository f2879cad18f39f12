"""One grammar: the model's parser (for the live kernel, ``plain``) and the
interpreter's (``interp -c``) give every file the same verdict, and a
refusal the same line.  Files are generated from the tokens where the two
used to differ, and mutated from the scenario corpus."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonvma import scenario
from anonvma.oracle import build
from benchmarks.fuzz import NUMBERS, RAW_BYTES, SEPARATORS, WORDS, corpus, interp_verdict, \
    model_verdict, mutate

from test_oracle import needs_cc

INTERP_C = Path(scenario.__file__).parent / "oracle" / "interp.c"

tokens = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(WORDS),
                   st.sampled_from(("mmap 0 4", "write 0", "fork P1", "mremap 0 1 2 to 8")))
lines = st.lists(tokens, max_size=6).flatmap(
    lambda words: st.lists(st.sampled_from(SEPARATORS), min_size=len(words),
                           max_size=len(words)).map(
        lambda seps: "".join(w + s for w, s in zip(words, seps))))
files = st.lists(st.one_of(lines, st.sampled_from(("P0 mmap 0 4", "P0 write 0", "P0 fork P1",
                                                    "P1 exit", "P1 write 0", "# c"))),
                 max_size=8).map(lambda ls: "\n".join(ls).encode())
files = st.tuples(files, st.lists(st.tuples(st.integers(0, 400), st.sampled_from(RAW_BYTES)),
                                  max_size=2)).map(
    lambda f: _insert(*f))


def _insert(data: bytes, edits) -> bytes:
    for at, raw in edits:
        at = min(at, len(data))
        data = data[:at] + raw + data[at:]
    return data


def test_limits_are_the_interpreters():
    text = INTERP_C.read_text()
    defines = dict(re.findall(r"#define\s+(MAX_\w+|NAME_LEN)\s+\(?([^)\s/]+(?:\s*\*\s*\d+)?)",
                              text))
    assert eval(defines["MAX_FILE"]) == scenario.MAX_FILE
    assert int(defines["MAX_OPS"]) == scenario.MAX_OPS
    assert int(defines["MAX_INC"]) == scenario.MAX_PROCESSES
    assert int(defines["NAME_LEN"]) == scenario.NAME_LEN


@needs_cc
@settings(derandomize=True, max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=files)
def test_generated_files_same_verdict_and_line(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("g") / "g.scn"
    path.write_bytes(data)
    assert model_verdict(str(path)) == interp_verdict(str(build.interpreter()), str(path))


@needs_cc
def test_mutated_corpus_same_verdict_and_line(tmp_path):
    interp, seeds, rng = str(build.interpreter()), corpus(), random.Random(9)
    disagreements = []
    for n in range(600):
        path = tmp_path / f"m{n % 4}.scn"
        data = mutate(rng, seeds)
        path.write_bytes(data)
        model, kernel = model_verdict(str(path)), interp_verdict(interp, str(path))
        if model != kernel:
            disagreements.append((data, model, kernel))
    assert disagreements == []


@needs_cc
@pytest.mark.parametrize("data", [
    b"P0 mmap 0 4294967295\n", b"P0 mmap 0 4294967296\n", b"P0 write \xc2\xb2\n",
    b"P0 write +4\n", b"P0 write 1_0\n", b"P0 write 0X4\n", b"P0 mmap 0 4\x0bP0 write 0\n",
    b"P0 mmap 0 4\r\nP0 write 0\r\n", b"P0 mmap 0 4\xc2\x85P0 write 0\n",
    b"P0 mmap 0 4\n# \x00\n", b"P0 mmap 0 4\n# \xff\n", b"\n\nset swap 4\n", b"P0 fork P1\ntogether\n",
    b"P0 fork " + b"A" * 31 + b"\n", b"P0 fork " + b"A" * 32 + b"\n",
    b"P0 mmap 0 1\n" * 16384, b"P0 mmap 0 1\n" * 16383 + b"\n",
    b"".join(b"P0 fork C%d\n" % i for i in range(1023)) + b"P0 fork X\n",
    b"".join(b"P0 fork C%d\n" % i for i in range(1022)) + b"P0 fork X\n",
    b"#" * (scenario.MAX_FILE - 1), b"#" * (scenario.MAX_FILE - 2),
], ids=lambda d: repr(d[:24]))
def test_former_disagreements(tmp_path, data):
    path = tmp_path / "d.scn"
    path.write_bytes(data)
    assert model_verdict(str(path)) == interp_verdict(str(build.interpreter()), str(path))
