"""The live-kernel oracle: interpreter, tracefs session, trace lines.

Tests that run on the kernel are marked ``live`` and skip (with the reason)
unless we are root with tracefs; interpreter tests need only gcc or cc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from anonvma.oracle import (KernelOracle, OracleError, OracleUnavailable, ScenarioRejected,
                            check, run_on_kernel)
from anonvma.oracle import build
from anonvma.oracle.tracefs import STATE_DIR

SHARED = Path(__file__).resolve().parent.parent / "scenarios" / "shared"
SCENARIOS = sorted(SHARED.glob("*.scn"))
TRACEFS = Path("/sys/kernel/tracing")


def _has_compiler() -> bool:
    try:
        build.find_compiler()
    except Exception:
        return False
    return True


def _has_tracefs() -> bool:
    """The kernel can give us a tracefs (mounted or not)."""
    return TRACEFS.is_dir() and "tracefs" in Path("/proc/filesystems").read_text().split()


needs_cc = pytest.mark.skipif(not _has_compiler(), reason="no C compiler (gcc or cc)")
# What can be known without mounting; the session itself (live_kernel) says
# whether the kmem events are there, and mounts tracefs if it has to.
LIVE_MARKS = (
    pytest.mark.live,
    needs_cc,
    pytest.mark.skipif(os.geteuid() != 0, reason="the live-kernel oracle needs root"),
    pytest.mark.skipif(not _has_tracefs(), reason="this kernel has no tracefs "
                       "(not in /proc/filesystems, or no /sys/kernel/tracing)"),
    pytest.mark.usefixtures("live_kernel"),
)


def live(test):
    for mark in LIVE_MARKS:
        test = mark(test)
    return test



def expected(scn: Path) -> tuple[list[str], list[str]]:
    """(event lines, other lines) of the .expected file beside scn."""
    lines = scn.with_suffix(".expected").read_text().splitlines()
    others = [ln for ln in lines if ln.split()[1] == "maps" or ln.split()[1].startswith("!")]
    return [ln for ln in lines if ln not in others], others


def write_scn(tmp_path: Path, text: str, name: str = "t.scn") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# -- the interpreter alone -------------------------------------------------------

@needs_cc
def test_build_has_no_writable_segment():
    segments = build.load_segments(build.interpreter())
    loads = [flags for ptype, flags in segments if ptype == build.PT_LOAD]
    assert loads and not any(flags & build.PF_W for flags in loads)
    assert all(ptype != build.PT_TLS for ptype, _ in segments)


@needs_cc
def test_writable_segment_is_refused(tmp_path):
    src = write_scn(tmp_path, "int counter = 1;\nint main(void) { return counter; }\n", "g.c")
    exe = tmp_path / "g"
    subprocess.run([build.find_compiler(), "-o", str(exe), str(src)], check=True)
    with pytest.raises(build.OracleUnavailable):
        build.check_no_writable_segment(exe)


@needs_cc
@pytest.mark.parametrize("text, message", [
    ("P0 mmap 0 4\nP0 frobnicate 1\n", ":2: error: unknown op 'frobnicate'"),
    ("P0 mmap 0 x4\n", ":1: error: bad number 'x4'"),
    ("P0 mmap 0 0x100000000\n", ":1: error: page number out of range"),
    ("P0 mmap 0 4\n\n# c\nP1 write 0\n", ":4: error: unknown process 'P1'"),
    ("P0 fork P1\nP1 exit\nP1 write 0\n", ":3: error: process has exited"),
    ("P0 fork P1\nP0 fork P1\n", ":2: error: fork onto a live process 'P1'"),
    ("P0 mprotect 0 4 rwxs\n", ":1: error: unknown protection 'rwxs'"),
    ("P0 madvise 0 4 mergeable\n", ":1: error: unknown advice 'mergeable'"),
    ("P0 mremap 0 4 8 at 9\n", ":1: error: expected 'to DEST'"),
    ("P0 maps 1\n", ":1: error: wrong number of arguments for 'maps'"),
    ("P0 mmap 0 4 fixed rw\n", ":1: error: unexpected mmap argument 'rw'"),
    ("P0 mmap any 4 fixed\n", ":1: error: unexpected mmap argument 'fixed'"),
    ("P0 thread P0\n", ":1: error: thread onto a live process 'P0'"),
    ("P0 brk 1 2\n", ":1: error: wrong number of arguments for 'brk'"),
    ("P0 mlock 0 4 now\n", ":1: error: expected 'onfault' 'now'"),
    ("P0 munlock 0\n", ":1: error: wrong number of arguments for 'munlock'"),
    ("P0 anon_name 0 4 a[1]\n", ":1: error: bad VMA name 'a[1]'"),
    ("P0 mbind 0 4 local\n", ":1: error: unknown memory policy 'local'"),
    ("P0 madvise 0 4 guard\n", ":1: error: unknown advice 'guard'"),
    ("P0 process_madvise P0 0 4\n", ":1: error: wrong number of arguments for 'process_madvise'"),
    ("P0 process_madvise P1 0 4 cold\n", ":1: error: unknown or exited target process 'P1'"),
    ("P0 fork P1\nP1 exit\nP0 process_madvise P1 0 4 cold\n",
     ":3: error: unknown or exited target process 'P1'"),
    ("P0 process_madvise P0 0 4 lazy\n", ":1: error: unknown advice 'lazy'"),
    ("P0 uffd_register 0\n", ":1: error: wrong number of arguments for 'uffd_register'"),
    ("P0 mmap 0 1\nset swap 64\n", ":2: error: set lines must come before the first operation"),
    ("set memory 64\n", ":1: error: not supported by the live-kernel oracle"),
    ("P0 uffd_move 0 4 8 gaps\n", ":1: error: expected 'holes' 'gaps'"),
    ("P0 uffd_move 0 4\n", ":1: error: wrong number of arguments for 'uffd_move'"),
    ("P0 exit now\n", ":1: error: exit takes nothing or 'thread', not 'now'"),
    ("P0 thread T1\nT1 exec\nP0 write 0\n", ":3: error: process has exited: 'P0'"),
])
def test_interpreter_rejects_malformed(tmp_path, text, message):
    scn = write_scn(tmp_path, text)
    res = subprocess.run([str(build.interpreter()), "-c", str(scn)],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.startswith(f"{scn}{message}"), res.stderr
    with pytest.raises(ScenarioRejected, match="error:"):
        check(str(scn))


def test_anon_names_are_skipped_on_a_kernel_without_them(tmp_path):
    """This machine's kernel lacks CONFIG_ANON_VMA_NAME: the oracle says so
    instead of comparing an EINVAL with the model's names."""
    from anonvma.oracle.errors import OracleUnavailable
    from anonvma.oracle.harness import check_supported, kernel_names_vmas
    scn = write_scn(tmp_path, "P0 mmap 0 4\nP0 anon_name 0 4 a\n")
    if kernel_names_vmas():
        pytest.skip("this kernel names VMAs (CONFIG_ANON_VMA_NAME=y)")
    with pytest.raises(OracleUnavailable, match="CONFIG_ANON_VMA_NAME"):
        check_supported(scn.read_text(), str(scn))
    check_supported("P0 mmap 0 4\n", "t.scn")


@needs_cc
def test_interpreter_accepts_reforked_name(tmp_path):
    check(str(write_scn(tmp_path, "P0 fork P1\nP1 exit\nP0 fork P1 # again\nP1 maps\n")))


@needs_cc
@pytest.mark.parametrize("scn", SCENARIOS, ids=lambda p: p.stem)
def test_interpreter_standalone_others(scn):
    """Without tracing (no root needed) the maps and failure lines match."""
    res = subprocess.run([str(build.interpreter()), str(scn)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == expected(scn)[1]


FAILURES = """\
    P0 mmap 0 4 r
    P0 fork P1
    P1 write 0
    P1 read 0
    P0 mprotect 100 1 rw
    P0 mmap 0 1
    P0 munmap 0 4
    P0 read 0
    P1 maps
"""


@needs_cc
def test_interpreter_failures(tmp_path):
    res = subprocess.run([str(build.interpreter()), str(write_scn(tmp_path, FAILURES))],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "P1 !write SIGSEGV", "P1 !read ESRCH", "P0 !mprotect ENOMEM",
        "P0 !mmap EEXIST", "P0 !read SIGSEGV", "P1 !maps ESRCH"]


# -- on the live kernel ------------------------------------------------------------

@pytest.fixture(scope="module")
def oracle():
    with KernelOracle() as o:
        yield o


@live
@pytest.mark.parametrize("scn", SCENARIOS, ids=lambda p: p.stem)
def test_shared_scenario_on_kernel(oracle, scn):
    run = oracle.run(str(scn))
    events, others = expected(scn)
    assert run.events == events
    assert run.others == others


@live
def test_failures_on_kernel(oracle, tmp_path):
    """A SIGSEGV teardown is complete before the next line runs."""
    run = oracle.run(str(write_scn(tmp_path, FAILURES)))
    assert run.events == [
        "P0 +AVC1:clone/fork", "P0 +AV1:fork", "P0 +AVC2:fork",
        "P1 -AVC1:u1/pgt", "P1 -AV1:put", "P1 -AVC2:u2/pgt",
        "P0 -AVpre1:put", "P0 -AVCpre1:u2/pgt"]
    assert run.others[0] == "P1 !write SIGSEGV"


@live
def test_lost_events_are_detected():
    with pytest.raises(OracleError, match="lost"):
        with KernelOracle(buffer_kb=4) as o:
            o.run(str(SHARED / "d_leapfrog50.scn"))


TOP_FILES = ("tracing_on", "current_tracer", "set_event_pid", "set_event",
             "trace_clock", "buffer_size_kb", "tracing_cpumask",
             "options/event-fork", "options/overwrite")


def _foreign(instance: str, ours: set[int]) -> bool:
    """An oracle instance of another process (someone may be using the
    oracle concurrently): not part of the state we must keep."""
    owner = instance.removeprefix("anonvma_").split("_")[0]
    return instance.startswith("anonvma_") and owner.isdigit() and int(owner) not in ours


def tracefs_state(*pids: int) -> dict[str, str]:
    """Whether tracefs is mounted; the top-level tracefs files an oracle run
    could plausibly disturb, and the instances (those of other oracle users
    aside); the sessions' records."""
    records = sorted(p.name for p in STATE_DIR.glob("session-*") if not _foreign(
        "anonvma_" + p.name.split("-")[1], {os.getpid(), *pids}))
    if not (TRACEFS / "trace").exists():
        return {"mounted": "no", "records": records}
    state = {"mounted": "yes", "records": records}
    state.update({f: (TRACEFS / f).read_text() for f in TOP_FILES})
    for ev in sorted((TRACEFS / "events/kmem").iterdir()):
        for f in ("enable", "filter", "trigger"):
            if (ev / f).exists():
                state[f"events/kmem/{ev.name}/{f}"] = (ev / f).read_text()
    ours = {os.getpid(), *pids}
    state["instances"] = " ".join(sorted(i for i in os.listdir(TRACEFS / "instances")
                                         if not _foreign(i, ours)))
    return state


@live
def test_run_on_kernel_restores_tracefs():
    before = tracefs_state()
    run = run_on_kernel(str(SHARED / "a_fork_once.scn"))
    assert run.release == os.uname().release
    assert run.lines == run.events + run.others and run.events
    assert tracefs_state() == before


HARNESS = """\
import sys
from anonvma.oracle import KernelOracle
with KernelOracle() as oracle:
    print("ready", flush=True)
    while True:
        oracle.run(sys.argv[1])
"""


def interpreters_running(scn: Path) -> list[str]:
    """Interpreters still running scn."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd[-2:] == [str(scn).encode(), b""] and b"anonvma/interp-" in cmd[0]:
            found.append(pid)
    return found


@live
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_restores_tracefs(sig, tmp_path):
    scn = tmp_path / "leapfrog.scn"
    scn.write_text((SHARED / "d_leapfrog50.scn").read_text())
    before = tracefs_state()
    proc = subprocess.Popen([sys.executable, "-c", HARNESS, str(scn)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        time.sleep(0.3)             # well inside a run of the loop
        proc.send_signal(sig)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -sig
    assert tracefs_state(proc.pid) == before
    assert interpreters_running(scn) == []



@needs_cc
def test_not_root_is_refused_clearly(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(OracleUnavailable, match="needs root"):
        with KernelOracle():
            pass
