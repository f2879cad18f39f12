"""The scenario language: what is rejected before anything runs, and how."""

from __future__ import annotations

import pytest

import os

from anonvma.scenario import MAX_FILE, ScenarioError, Together, parse, parse_file


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
    ("P0 mmap 0 4294967296\n", 1, "page count 4294967296 is out of range"),
    ("P0 mmap 0 0x100000000\n", 1, "out of range"),
    ("P0 mmap 0 1" + "0" * 5000 + "\n", 1, "out of range"),
    ("P0 write \u00b2\n", 1, "bad page '\u00b2'"),
    ("P0 write \u0663\n", 1, "bad page '\u0663'"),
    ("P0 write \U0001d7d5\n", 1, "bad page"),
    ("P0 write +4\n", 1, "bad page '+4'"),
    ("P0 write 1_0\n", 1, "bad page '1_0'"),
    ("P0 write 0X4\n", 1, "bad page '0X4'"),
    ("P0 write 0x\n", 1, "bad page '0x'"),
    ("P0 mmap 0 4\rP0 write 0 P0\n", 1, "unknown protection 'P0'"),
    ("P0 mmap 0 4\x85P0 write 0\n", 1, "unknown protection"),
    ("P0 mmap 0 4\u2028\nP0 bad 0\n", 1, "bad page count"),
    ("P0 mmap\x0c0 4\n", 1, "unknown op"),
    ("P0 fork " + "A" * 32 + "\n", 1, "too long"),
    ("P0 mmap 0 1\n" * 16385, 16385, "too many operations"),
    ("P0 mmap 0 1\n" * 16384 + "\n", 16385, "counting the exits at the end (1 here)"),
    ("".join(f"P0 fork C{i}\n" for i in range(1023)) + "P0 fork X\n", 1024, "too many processes"),
    ("set swap 100000000000\n", 1, "set swap takes a number of pages from 0 to 0xffffffff"),
    ("set swap 9223372036854775808\n", 1, "set swap takes"),
    ("set swap 0b11\n", 1, "set swap takes"),
    ("set memory 63\n", 1, "set memory takes a number of pages from 64"),
    ("set memory 4294967296\n", 1, "set memory takes"),
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
    ("P0 madvise 0 4 guard\n", 1, "unknown advice 'guard'"),
    ("P0 process_madvise P0 0 4\n", 1, "process_madvise takes TARGET FIRST COUNT ADVICE"),
    ("P0 process_madvise P1 0 4 cold\n", 1, "unknown or exited target process 'P1'"),
    ("P0 fork P1\nP1 exit\nP0 process_madvise P1 0 4 cold\n", 3,
     "unknown or exited target process 'P1'"),
    ("P0 process_madvise 1P 0 4 cold\n", 1, "bad process name '1P'"),
    ("P0 process_madvise P0 0 4 lazy\n", 1, "unknown advice 'lazy'"),
    ("P0 uffd_register 0\n", 1, "uffd_register takes FIRST COUNT"),
    ("P0 uffd_move 0 4 8 gaps\n", 1, "unexpected 'gaps': uffd_move takes SRC COUNT DEST"),
    ("P0 uffd_move 0 4\n", 1, "uffd_move takes SRC COUNT DEST [holes]"),
    ("P0 uffd_move 0 4 x\n", 1, "bad destination page 'x'"),
    ("P0 thread T1\nP0 exit\nT1 write 0\n", 3, "unknown or exited process 'T1'"),
    ("P0 thread T1\nT1 exec\nP0 write 0\n", 3, "unknown or exited process 'P0'"),
])
def test_rejected_with_file_line_and_fix(text, line, words):
    with pytest.raises(ScenarioError) as exc:
        parse(text, "s.scn")
    assert str(exc.value).startswith(f"s.scn:{line}: error: ")
    assert words in str(exc.value)


def test_plain_files_may_ask_for_swap_only():
    assert parse("set swap 64\nP0 mmap 0 1\n", plain=True).settings == {"swap": 64}
    with pytest.raises(ScenarioError, match="no set but 'set swap N'"):
        parse("set memory 64\nP0 mmap 0 1\n", plain=True)


def test_largest_numbers_are_accepted():
    sc = parse("set swap 0xffffffff\nset memory 4294967295\nP0 mmap 0xffffffff 4294967295\n"
               "P0 write 00000000000000000000004\n")
    assert sc.settings == {"swap": 2**32 - 1, "memory": 2**32 - 1}
    assert [s.args for s in sc.steps] == [(2**32 - 1, 2**32 - 1, "rw"), (4,)]


@pytest.mark.parametrize("data, line, words", [
    (b"P0 mmap 0 4\nP0 write 0 # caf\xe9\n", 2, "not valid UTF-8"),
    (b"P0 mmap 0 4\n# \x00\n", 2, "NUL byte"),
    (b"# \xed\xa0\x80 surrogate\n", 1, "not valid UTF-8"),
    (b"# \xc0\xaf overlong\n", 1, "not valid UTF-8"),
    (b"# \xe2\x82\nP0 write 0\n", 1, "not valid UTF-8"),
    (b"P0 frob\n# \xff\n", 2, "not valid UTF-8"),        # the whole file is text first
    (b"\n\n\x00 \xff\n", 3, "NUL byte"),
    (b"\n\xff \x00\n", 2, "not valid UTF-8"),
])
def test_file_is_utf8_without_nul(tmp_path, data, line, words):
    scn = tmp_path / "t.scn"
    scn.write_bytes(data)
    with pytest.raises(ScenarioError) as exc:
        parse_file(str(scn))
    assert str(exc.value).startswith(f"{scn}:{line}: error: {words}")


def test_non_regular_and_large_files_are_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.scn"
    big.write_bytes(b"#" * (MAX_FILE - 1) + b"\n")
    for path, words in [(fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                        (tmp_path, "a directory"), (tmp_path / "nope", "No such file"),
                        (big, "too large")]:
        with pytest.raises(ScenarioError) as exc:
            parse_file(str(path))
        assert str(exc.value).startswith(f"{path}:0: error: ") and words in str(exc.value)
    big.write_bytes(b"#" * (MAX_FILE - 2) + b"\n")
    assert parse_file(str(big)).steps == []
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
