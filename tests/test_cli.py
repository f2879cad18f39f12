"""The anonvma command: output, exit status, and no tracebacks for mistakes."""

from __future__ import annotations

import pathlib
import subprocess
import sys

SHARED = pathlib.Path(__file__).parent / "scenarios" / "shared"


def anonvma(*args):
    return subprocess.run([sys.executable, "-m", "anonvma", *args], capture_output=True, text=True)


def test_trace_prints_exactly_the_expected_file():
    r = anonvma("trace", str(SHARED / "k_S2.scn"))
    assert r.returncode == 0
    assert r.stdout == (SHARED / "k_S2.expected").read_text()


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
