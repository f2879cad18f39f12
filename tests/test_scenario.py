"""The scenario language: what is rejected before anything runs, and how."""

from __future__ import annotations

import pytest

from anonvma.scenario import Together, parse


@pytest.mark.parametrize("text, line, words", [
    ("P0 mmap 0 4\nP0 frob 1\n", 2, "unknown op 'frob'"),
    ("P0 mmap 0 x4\n", 1, "bad page count 'x4'"),
    ("P0 mmap 0 4 wx\n", 1, "unknown protection 'wx'"),
    ("P1 write 0\n", 1, "unknown or exited process 'P1'"),
    ("P0 fork P1\nP1 exit\nP1 write 0\n", 3, "unknown or exited process 'P1'"),
    ("P0 fork P1\nP0 fork P1\n", 2, "fork onto the name of a live process 'P1'"),
    ("P0 mmap 0 4\nset variant v6.18\n", 2, "before the first operation"),
    ("set color blue\n", 1, "unknown setting 'color'"),
    ("set variant v1.0\n", 1, "unknown variant 'v1.0'"),
    ("P0 write 4294967296\n", 1, "out of range"),
    ("P0 mremap 0 1 2 at 5\n", 1, "mremap takes"),
    ("together\nP0 write 0\n", 1, "without 'end'"),
    ("end\n", 1, "'end' without 'together'"),
    ("0P mmap 0 1\n", 1, "bad process name"),
    ("P0 madvise 0 1 forget\n", 1, "unknown advice 'forget'"),
    ("P0 mmap 0 4 fixed rw\n", 1, "unexpected 'rw'"),
    ("P0 mmap 0 4 rw fixed fixed\n", 1, "unexpected 'fixed'"),
    ("P0 mmap any 4 rw fixed\n", 1, "drop 'fixed'"),
    ("P0 mmap anywhere 4\n", 1, "bad page 'anywhere'"),
    ("P0 mmap 0\n", 1, "mmap takes FIRST COUNT"),
    ("P0 thread P0\n", 1, "thread onto the name of a live process 'P0'"),
    ("P0 exit now\n", 1, "exit takes no arguments (exit_group), or 'thread'"),
    ("P0 exec 1\n", 1, "exec takes no arguments"),
    ("P0 brk\n", 1, "brk takes the new break, a PAGE"),
    ("P0 mlock 0 4 now\n", 1, "unexpected 'now': mlock takes FIRST COUNT"),
    ("P0 mseal 0\n", 1, "mseal takes FIRST COUNT"),
    ("P0 anon_name 0 4 a[1]\n", 1, "bad VMA name 'a[1]'"),
    ("P0 mbind 0 4 local\n", 1, "unknown memory policy 'local'"),
    ("P0 thread T1\nP0 exit\nT1 write 0\n", 3, "unknown or exited process 'T1'"),
    ("P0 thread T1\nT1 exec\nP0 write 0\n", 3, "unknown or exited process 'P0'"),
])
def test_rejected_with_file_line_and_fix(text, line, words):
    with pytest.raises(Exception) as exc:
        parse(text, "s.scn")
    assert str(exc.value).startswith(f"s.scn:{line}: error: ")
    assert words in str(exc.value)


def test_mmap_flags_and_any():
    sc = parse("P0 mmap 0 4 fixed\nP0 mmap any 2 r noreserve\nP0 mmap 8 1 rw noreserve fixed\n")
    assert [s.args for s in sc.steps] == [
        (0, 4, "rw", "fixed"), ("any", 2, "r", "noreserve"), (8, 1, "rw", "noreserve", "fixed")]


def test_exit_thread_leaves_the_other_threads():
    sc = parse("P0 thread T1\nP0 exit thread\nT1 fork P1\nT1 exit\nP1 thread T1\n")
    assert [str(s) for s in sc.steps][-1] == "P1 thread T1"


def test_comments_blank_lines_hex_and_reforks():
    sc = parse("# header\n\nP0 mmap 0x10 4 # trailing\nP0 fork A\nA exit\nP0 fork A\n")
    assert [str(s) for s in sc.steps] == ["P0 mmap 16 4 rw", "P0 fork A", "A exit", "P0 fork A"]


def test_together_block_and_settings():
    sc = parse("set variant v6.18\nP0 fork P1\ntogether\nP0 write 0\nP1 write 0\nend\nP1 exit\n")
    assert sc.settings == {"variant": "v6.18"}
    assert isinstance(sc.steps[1], Together) and len(sc.steps[1].lines) == 2
    assert sc.concurrent
