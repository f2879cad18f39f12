"""The oracle's tracefs session on every exit path: SIGKILL followed by a new
session, SIGINT, the stopped interpreter a killed session leaves holding its
instance; and the command line's refusals, before any tracefs work."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from anonvma.oracle import build, run_on_kernel
from anonvma.oracle.harness import PR_SET_CHILD_SUBREAPER, SCENARIO_PATH
from anonvma.oracle.tracefs import STATE_DIR, _write_json
from test_oracle import SHARED, TRACEFS, expected, live, tracefs_state

A_FORK_ONCE = SHARED / "a_fork_once.scn"


def anonvma(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "anonvma", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _stat(pid) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def interpreters(of: int | None = None) -> dict[int, str]:
    """pid -> state of the oracle interpreters started by process ``of``, or
    else of those no live session runs: orphaned (parent init or us), and
    their scenario processes.  Others may be using the oracle meanwhile."""
    interp, parent = {}, {}
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            exe = Path(os.readlink(f"/proc/{pid}/exe"))
            stat = _stat(pid)
        except OSError:
            continue
        if exe.name.startswith("interp-") and exe.parent == build.cache_dir():
            interp[pid], parent[pid] = stat[0], int(stat[1])

    def orphaned(pid):
        if of is not None:
            return parent[pid] == of
        return parent[pid] in (1, os.getpid()) or (parent[pid] in interp and orphaned(parent[pid]))
    return {pid: state for pid, state in interp.items() if orphaned(pid)}


def instances() -> list[str]:
    """The oracle's tracefs instances whose owner is dead."""
    if not (TRACEFS / "trace").exists():
        return []
    return sorted(i for i in os.listdir(TRACEFS / "instances") if i.startswith("anonvma_")
                  and not Path(f"/proc/{i.split('_')[1]}").exists())


def stale_records() -> list[str]:
    """Session records whose owner is dead (a live session of another user
    of the oracle on this machine keeps its own)."""
    return sorted(p.name for p in STATE_DIR.glob("session-*")
                  if not Path(f"/proc/{p.name.split('-')[1]}").exists())


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def next_session_is_clean(before, capfd):
    """A new session works, says what it cleaned, and leaves tracefs as before."""
    run = run_on_kernel(str(A_FORK_ONCE))
    assert run.events == expected(A_FORK_ONCE)[0]
    assert tracefs_state() == before and instances() == []
    assert interpreters() == {} and stale_records() == []
    cleaned = [ln for ln in capfd.readouterr().err.splitlines() if "cleaned up" in ln]
    assert len(cleaned) <= 1
    return cleaned


def sigkill_trials(n, tmp_path, capfd):
    before = tracefs_state()
    assert instances() == [] and interpreters() == {}
    messages = 0
    for trial in range(n):
        proc = anonvma("check-kernel", "--random", "1000", "--seed", str(trial),
                       "--save", str(tmp_path / "failures"))
        try:
            assert proc.stdout.readline().startswith("comparing with the live kernel")
            if trial % 2:
                # while an interpreter runs (or is stopped, waiting to be armed)
                assert wait_for(lambda: interpreters(proc.pid) != {})
            else:
                time.sleep(0.013 * trial)
        finally:
            proc.kill()
            proc.wait()
        messages += len(next_session_is_clean(before, capfd))
    assert messages == n        # every killed session left something, and it was cleaned


@live
def test_sigkill_then_new_session_restores_tracefs(tmp_path, capfd):
    sigkill_trials(2, tmp_path, capfd)


@live
@pytest.mark.slow
def test_ten_sigkills_then_new_sessions_restore_tracefs(tmp_path, capfd):
    sigkill_trials(10, tmp_path, capfd)


KILLED_AFTER_SPAWN = """\
import os, signal, sys
from anonvma.oracle import KernelOracle
with KernelOracle() as oracle:
    oracle._spawn(open(sys.argv[1], "rb").read())
    os.kill(os.getpid(), signal.SIGKILL)
"""


@live
def test_stopped_orphaned_interpreter_is_killed_by_recorded_pid(tmp_path, capfd):
    """Killed right after it started the interpreter, the session cannot
    continue it: the interpreter stops itself after validation, orphaned,
    holding trace_marker open, so the instance cannot be removed until the
    next session kills it by the pid it recorded.  (Reparented to init, it
    survives only if it stops after its session died; reparented to us, a
    subreaper of its session, it always does: its process group is not
    orphaned, so the kernel sends it no SIGHUP.)"""
    big = tmp_path / "big.scn"
    big.write_text("P0 mmap 0 1\n" + "P0 write 0\n" * 1000)
    before = tracefs_state()
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        helper = subprocess.run([sys.executable, "-c", KILLED_AFTER_SPAWN, str(big)],
                                capture_output=True, text=True)
        assert helper.returncode == -signal.SIGKILL, helper.stderr
        assert wait_for(lambda: "T" in interpreters().values(), timeout=10)
        stopped = [pid for pid, state in interpreters().items() if state == "T"]
        assert len(stopped) == 1 and len(instances()) == 1
        cleaned = next_session_is_clean(before, capfd)
        assert cleaned and f"killed interpreter process {stopped[0]}" in cleaned[0]
        assert "removed tracefs instance anonvma_" in cleaned[0]
        assert os.waitpid(stopped[0], 0)[1] == signal.SIGKILL
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@live
def test_sigint_during_check_kernel_exits_130_with_one_line(tmp_path):
    before = tracefs_state()
    proc = anonvma("check-kernel", "--random", "1000", "--save", str(tmp_path / "failures"))
    try:
        assert proc.stdout.readline().startswith("comparing with the live kernel")
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert err == "anonvma: interrupted; tracefs is as it was\n"
    assert tracefs_state(proc.pid) == before and interpreters() == {}


@live
def test_check_kernel_leaves_no_temporary_file(tmp_path):
    tmp = Path(tempfile.gettempdir())
    left = set(tmp.glob("anonvma-*"))
    proc = anonvma("check-kernel", str(A_FORK_ONCE), "--random", "2",
                   "--save", str(tmp_path / "failures"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"{A_FORK_ONCE}: match" in out
    assert set(tmp.glob("anonvma-*")) == left
    assert SCENARIO_PATH.startswith("/proc/self/fd/")     # the scenario is a memfd


# -- refused before any tracefs work (no root needed) --------------------------------

def _refused(tmp_path, *args):
    proc = anonvma(*args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out == "" and "Traceback" not in err, err
    assert len(err.splitlines()) == 1
    return err


def test_check_kernel_refuses_what_is_not_a_plain_file(tmp_path):
    assert _refused(tmp_path, "check-kernel", "/nonexistent").startswith(
        "/nonexistent:0: error: cannot read the scenario: No such file or directory")
    assert _refused(tmp_path, "check-kernel", str(tmp_path)).startswith(
        f"{tmp_path}:0: error: cannot read the scenario: a directory")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "not a regular file" in _refused(tmp_path, "check-kernel", str(fifo))
    with_set = tmp_path / "with_set.scn"
    with_set.write_text("# memory\nset memory 128\nP0 mmap 0 4\n")
    concurrent = tmp_path / "concurrent.scn"
    concurrent.write_text("P0 fork P1\ntogether\nP0 write 0\nP1 write 0\nend\n")
    for args in (("check-kernel", str(A_FORK_ONCE), str(with_set)),
                 ("trace", "--kernel", str(with_set))):
        assert _refused(tmp_path, *args).startswith(
            f"{with_set}:2: error: 'set' lines are for the model only")
    assert _refused(tmp_path, "check-kernel", str(concurrent)).startswith(
        f"{concurrent}:2: error: 'together' lines are for the model only")


def test_check_kernel_random_takes_a_count(tmp_path):
    assert _refused(tmp_path, "check-kernel", "--random", "-1") == \
        "anonvma: --random -1: give a number of scenarios, 0 or more\n"


def _swaps() -> str:
    return Path("/proc/swaps").read_text()


@live
def test_swap_file_is_on_for_the_run_only():
    """set swap N: a swap file of N slots, swapped on at the highest
    priority for the block, then swapped off and removed; the session
    record names it meanwhile."""
    from anonvma.oracle.tracefs import TraceSession
    with TraceSession() as ts:
        with ts.swap_file(16):
            path = ts.record["swapfile"]
            assert path in _swaps() and Path(path).stat().st_size == 17 * 4096
        assert path not in _swaps() and not Path(path).exists()
        assert ts.record["swapfile"] is None


@live
def test_a_killed_sessions_swap_file_is_swapped_off_by_the_next(capfd):
    child = subprocess.Popen([sys.executable, "-c", (
        "import os, signal\n"
        "from anonvma.oracle.tracefs import TraceSession\n"
        "with TraceSession() as ts:\n"
        "    with ts.swap_file(16):\n"
        "        print(ts.record['swapfile'], flush=True)\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n")], stdout=subprocess.PIPE, text=True)
    path = child.stdout.readline().strip()
    child.wait()
    assert child.returncode == -signal.SIGKILL and path in _swaps()
    run = run_on_kernel(str(A_FORK_ONCE))
    assert run.events == expected(A_FORK_ONCE)[0]
    assert path not in _swaps() and not Path(path).exists()
    assert f"swapped off and removed {path}" in capfd.readouterr().err


class _Signalled(Exception):
    pass


def test_a_signal_during_a_record_write_leaves_no_tmp(tmp_path, monkeypatch):
    """A session's record is written to a .tmp and renamed over the record;
    a SIGTERM whose handler raises, arriving between the two, must wait for
    the rename, or the .tmp outlives the session that cleans up its record
    (seen as a stray session-*.tmp after an interrupted oracle run)."""
    def raise_(signum, frame):
        raise _Signalled

    real_write_text = Path.write_text

    def write_then_signal(self, text):
        n = real_write_text(self, text)
        os.kill(os.getpid(), signal.SIGTERM)
        return n

    old = signal.signal(signal.SIGTERM, raise_)
    record = tmp_path / "session-1-0.json"
    try:
        monkeypatch.setattr(Path, "write_text", write_then_signal)
        with pytest.raises(_Signalled):
            _write_json(record, {"pid": 1})
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGTERM, old)
    assert json.loads(record.read_text()) == {"pid": 1}
    assert list(tmp_path.glob("*.tmp")) == []
