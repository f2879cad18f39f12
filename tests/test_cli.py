"""The anonvma command: output, exit status, and no tracebacks for mistakes."""

from __future__ import annotations

import pathlib
import subprocess
import sys

SHARED = pathlib.Path(__file__).parent / "scenarios" / "shared"


def anonvma(*args):
    return subprocess.run([sys.executable, "-m", "anonvma", *args], capture_output=True, text=True)


def _streams(lines):
    """(object events, other lines): what is compared with the kernel."""
    events = [l for l in lines if l.split()[1][0] in "+-" or l.split()[1].startswith("!AV")]
    return events, [l for l in lines if l not in events]


def test_trace_prints_the_expected_lines_in_the_order_they_happen():
    scn = SHARED.parent / "kernel" / "signals_and_dead_processes.scn"
    r = anonvma("trace", str(scn))
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert _streams(lines) == _streams(scn.with_suffix(".expected").read_text().splitlines())
    # failures and maps come where they happened, among the object events
    assert lines != _streams(lines)[0] + _streams(lines)[1]


def test_run_summarises_and_checks():
    r = anonvma("run", str(SHARED / "a_fork_once.scn"))
    assert r.returncode == 0
    assert "anon_vma_chain" in r.stdout and "every invariant held" in r.stdout


def test_malformed_scenario_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.scn"
    bad.write_text("P0 mmap 0 4\nP0 wrte 0\n")
    r = anonvma("trace", str(bad))
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith(f"{bad}:2: error: unknown op 'wrte'")
    assert "Traceback" not in r.stderr


def test_unknown_variant_and_missing_file():
    r = anonvma("trace", "--variant", "v9", str(SHARED / "z_null.scn"))
    assert r.returncode == 2 and "unknown variant" in r.stderr and "Traceback" not in r.stderr
    r = anonvma("run", "no/such.scn")
    assert r.returncode == 2 and "no/such.scn:0: error: cannot read" in r.stderr


def test_variants_lists_the_default():
    r = anonvma("variants")
    assert r.returncode == 0 and "v6.18" in r.stdout


def test_fail_nth_option_takes_ascii_numbers_only():
    for value in ("\u00b2", "\u00b2:1", "1:\u0663", "+4", "0", "4294967296"):
        r = anonvma("trace", "--fail-nth", value, str(SHARED / "a_fork_once.scn"))
        assert r.returncode == 2 and r.stderr.startswith(f"anonvma: --fail-nth {value}: write N")
        assert "Traceback" not in r.stderr
