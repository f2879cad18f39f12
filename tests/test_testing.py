"""anonvma.testing: the strategies draw valid programs shaped by their
parameters, the checker fails a broken patch and passes 6.18, and the
property tests of docs/testing.md run as written."""

from __future__ import annotations

import pathlib
import re

import pytest
from hypothesis import given, settings

from anonvma.scenario import parse
from anonvma.testing import check_scenario, concurrent_scenarios, scenarios

ROOT = pathlib.Path(__file__).resolve().parents[1]
FEW = settings(max_examples=30, deadline=None, derandomize=True)


@FEW
@given(scenarios(max_ops=10, max_procs=2, weights={"fork": 0, "mremap": 0, "mmap": 20}))
def test_weights_and_bounds_shape_the_programs(text):
    ops = [line.split()[1] for line in text.splitlines()]
    assert "fork" not in ops and "mremap" not in ops
    # a region first (up to 3 mmaps), at most max_ops ops, then maps lines
    assert len([op for op in ops if op != "maps"]) <= 3 + 10
    parse(text)


@FEW
@given(concurrent_scenarios(max_ops=4, block=(3, 3), pressure=True, block_ops=("write 1",)))
def test_concurrent_programs_have_one_block_of_the_asked_lines(text):
    sc = parse(text)
    assert sc.settings["memory"] == 128 and sc.concurrent
    (block,) = [step for step in sc.steps if hasattr(step, "lines")]
    ops = [str(line).split(" ", 1)[1] for line in block.lines]
    assert ops[:3] == ["write 1"] * 3 and ops[3].startswith("fork C")
    assert all(op.startswith("write ") for op in ops[4:]) and 2 <= len(ops[4:]) <= 5


def test_bad_parameters_are_errors_at_once():
    with pytest.raises(ValueError, match=r"unknown ops \['frok'\]"):
        scenarios(weights={"frok": 1})
    with pytest.raises(ValueError, match="at least one is not 0"):
        from anonvma.explore.programs import op_weights
        scenarios(weights={op: 0 for op, _weight in op_weights(None)})
    with pytest.raises(ValueError, match=r"block=\(3, 2\)"):
        concurrent_scenarios(block=(3, 2))


LEAKY = """\
from anonvma.kernel import Linux


class Leaky(Linux):
    \"\"\"6.18 that never unlinks a VMA's chain\"\"\"

    def unlink_anon_vmas(self, vma):
        pass
"""
FORK_EXIT = "P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 exit\n"


def test_the_checker_fails_a_broken_patch_and_passes_618(tmp_path, monkeypatch):
    (tmp_path / "leaky.py").write_text(LEAKY)
    monkeypatch.chdir(tmp_path)
    check_scenario(FORK_EXIT)
    with pytest.raises(AssertionError) as e:
        check_scenario(FORK_EXIT, variant="leaky.py:Leaky")
    message = str(e.value)
    assert message.startswith(f"the program\n{FORK_EXIT}fails on leaky.py:Leaky:\n")
    assert "after line 4 (P1 exit):\n  I-1: a live AVC is on 0 VMA chains" in message
    assert "leak: 6 anon_vma_chain objects still allocated after every process exited" in message
    together = "P0 mmap 0 4\nP0 write 0\ntogether\nP0 fork P1\nP0 write 1\nend\nP1 exit\n"
    check_scenario(together, schedules=5)
    with pytest.raises(AssertionError, match=r"after line 7 \(P1 exit\):\n  I-1: a live AVC is on 0 VMA chains"):
        check_scenario(together, variant="leaky.py:Leaky", schedules=5)


def test_the_property_tests_of_the_page_run(tmp_path, monkeypatch):
    page = (ROOT / "docs" / "testing.md").read_text()
    blocks = dict(re.findall(r"```python\n# (test_\w+\.py)\n(.*?)```", page, re.S))
    assert set(blocks) == {"test_my_patch.py", "test_my_patch_concurrent.py"}
    # the user's property test in ten lines
    assert len([ln for ln in blocks["test_my_patch.py"].splitlines() if ln.strip()]) <= 10
    patch = (ROOT / "docs" / "your-patch.md").read_text()
    (tmp_path / "myfix.py").write_text(
        re.search(r"```python\n# myfix.py\n(.*?)```", patch, re.S).group(1))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    # seeded, and fewer examples than a user's run: the page's own settings
    # take what they leave unsaid from the profile in force where they are made
    settings.register_profile("page", max_examples=10, derandomize=True, database=None)
    settings.load_profile("page")
    try:
        for name, code in blocks.items():
            exec(compile(code, name, "exec"), namespace)
    finally:
        settings.load_profile("default")
    for name in ("test_my_patch_keeps_every_invariant", "test_my_patch_under_reclaim"):
        namespace[name]()
