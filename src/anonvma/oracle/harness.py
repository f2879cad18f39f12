"""Run scenario files on the live kernel and collect their trace lines.

One run: the model's parser validates the file (the interpreter's grammar
is the same, so a mistake is the user's FILE:LINE message); the interpreter
reads the very same bytes from a memfd (no temporary file to leave behind),
validates them and stops itself (SIGSTOP); we turn tracing on (the instance
follows our process tree) and continue it.
Its fd 3 is the instance's trace_marker, where it announces each process as
``@pid PID NAME``; its stdout carries the maps and failure lines.  We are a child subreaper, so processes orphaned by the scenario are
reparented to us and reaped here; only the interpreter's own process group
is waited for, so other children of the caller are left alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..scenario import decode, parse, parse_file, read_scenario
from . import build, events
from .errors import OracleError, OracleUnavailable, ScenarioRejected
from .tracefs import BUFFER_KB, TraceSession, signals_deferred

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
MARKER_FD = 3
SCENARIO_FD = 4                 # the memfd with the scenario, in the interpreter
SCENARIO_PATH = f"/proc/self/fd/{SCENARIO_FD}"
TIMEOUT = 30.0

# The calibration scenario: P1's exit frees one avc in each loop of
# unlink_anon_vmas (the stack anon_vma it shares with P0, then its own).
CALIBRATION = "P0 fork P1\nP1 exit\nP0 exit\n"


@dataclass
class KernelRun:
    events: list[str]
    others: list[str]
    release: str
    raw: str = field(default="", repr=False)

    @property
    def lines(self) -> list[str]:
        return self.events + self.others


def check(path: str) -> None:
    """Let the interpreter validate the file; ScenarioRejected if it is bad."""
    res = subprocess.run([str(build.interpreter()), "-c", path],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise ScenarioRejected(res.stderr.strip() or f"interpreter exit {res.returncode}")


PR_SET_VMA, PR_SET_VMA_ANON_NAME = 0x53564D41, 0


def kernel_names_vmas() -> bool:
    """Whether this kernel has CONFIG_ANON_VMA_NAME: prctl(PR_SET_VMA) of
    an empty range succeeds there, and is EINVAL without it."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0, 0, 0) == 0


def check_supported(text: str, path: str) -> None:
    """OracleUnavailable for a scenario this kernel cannot run as written."""
    uses_names = any(line.split("#", 1)[0].split()[1:2] == ["anon_name"]
                     for line in text.split("\n"))
    if uses_names and not kernel_names_vmas():
        raise OracleUnavailable(
            f"{path}: this kernel ({os.uname().release}) is built without CONFIG_ANON_VMA_NAME, "
            "so its 'anon_name' lines cannot be compared; the model follows the kernel source")


def _prctl(option: int, arg) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, arg, 0, 0, 0) != 0:
        raise OracleError(f"prctl({option}): {os.strerror(ctypes.get_errno())}")


def _high_fd(fd: int) -> int:
    """A close-on-exec copy at fd >= 10: posix_spawn's dup2 onto 0..3 then
    clears close-on-exec, which dup2(3, 3) would not (pitfall 7)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


def _boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


class KernelOracle:
    """A tracefs session in which scenario files run one after another.

    with KernelOracle() as oracle:
        run = oracle.run("tests/scenarios/shared/a_fork_once.scn")
    """

    def __init__(self, timeout: float = TIMEOUT, buffer_kb: int = BUFFER_KB):
        self.timeout = timeout
        self.release = os.uname().release
        self.session = TraceSession(buffer_kb)
        self.loops: dict[str, str] = {}
        self._old_subreaper: int | None = None

    def __enter__(self) -> "KernelOracle":
        self.interp = str(build.interpreter())
        self.session.__enter__()
        try:
            self.session.running(self.interp, None)     # the binary, before any spawn
            old = ctypes.c_int(0)
            _prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(old))
            self._old_subreaper = old.value
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
            self.loops = self._calibration()
        except BaseException as ex:
            self.__exit__(type(ex), ex, ex.__traceback__)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._old_subreaper is not None:
            _prctl(PR_SET_CHILD_SUBREAPER, self._old_subreaper)
            self._old_subreaper = None
        self.session.__exit__(*exc)

    # -- calibration of the unlink_anon_vmas loops ---------------------------
    def _calibration(self) -> dict[str, str]:
        """Call site -> u1/u2, cached per kernel release and boot."""
        cache = build.cache_dir() / f"unlink-loops-{self.release}-{_boot_id()}.json"
        try:
            return json.loads(cache.read_text())
        except (OSError, ValueError):
            pass
        loops = self._calibrate()
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(loops))
        os.replace(tmp, cache)
        return loops

    def _calibrate(self) -> dict[str, str]:
        text, _ = self._trace(CALIBRATION.encode())
        records = events.parse(text)
        p1 = {int(r.fields["pid"]) for r in records
              if r.event == "marker" and r.fields["name"] == "P1"}
        sites = events.unlink_sites([r for r in records if r.pid in p1])
        if len(sites) != 2:
            raise OracleError(
                f"calibration: expected the exit of a forked child to free avcs at two "
                f"unlink_anon_vmas call sites, saw {sites}")
        return {sites[0]: "u1", sites[1]: "u2"}

    # -- running a scenario --------------------------------------------------
    def run(self, path: str) -> KernelRun:
        """Run a plain scenario file; ScenarioError (naming path) if it is
        not one."""
        data = read_scenario(path)
        text = decode(data, path)
        sc = parse(text, path, plain=True)
        check_supported(text, path)
        return self._run(data, sc.settings.get("swap", 0))

    def run_text(self, text: str, name: str) -> KernelRun:
        """Run a plain scenario given as text; errors name ``name``."""
        sc = parse(text, name, plain=True)
        check_supported(text, name)
        return self._run(text.encode(), sc.settings.get("swap", 0))

    def _run(self, data: bytes, swap: int = 0) -> KernelRun:
        """``swap``: slots of a swap file the scenario runs with (set swap)."""
        with self.session.swap_file(swap) if swap else contextlib.nullcontext():
            text, out = self._trace(data)
        lines = events.render(events.parse(text), self.loops)
        return KernelRun(events=lines, others=out.splitlines(), release=self.release,
                         raw=text)

    def _trace(self, data: bytes) -> tuple[str, str]:
        """Run the interpreter traced on a scenario; (raw trace text, its stdout)."""
        pid, out_r, err_r = None, -1, -1
        try:
            # A signal must not leave the pid unknown or an fd of the
            # instance open (rmdir would then fail with EBUSY).
            with signals_deferred():
                pid, out_r, err_r = self._spawn(data)
            out, err, statuses = self._supervise(pid, out_r, err_r)
        except BaseException:
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):    # all gone already
                    os.killpg(pid, signal.SIGKILL)
                self._reap(pid)
            raise
        finally:
            for fd in (out_r, err_r):
                if fd >= 0:
                    os.close(fd)
            if pid is not None:
                self.session.running(self.interp, None)
        text = self.session.read_trace()
        bad = {p: s for p, s in statuses.items() if s != 0}
        if bad:
            err = err.replace(SCENARIO_PATH, "the scenario")
            raise OracleError(f"interpreter failed (wait statuses {bad}): {err.strip()}")
        return text, out

    def _spawn(self, data: bytes) -> tuple[int, int, int]:
        """Start the interpreter in its own process group, recorded in the
        session's state; it stops itself once the scenario is validated.
        Returns (pid, stdout fd, stderr fd)."""
        scenario = _high_fd(os.memfd_create("anonvma-scenario", os.MFD_CLOEXEC))
        os.write(scenario, data)
        marker = _high_fd(os.open(self.session.marker_path(), os.O_WRONLY | os.O_CLOEXEC))
        out_r, out_w = (_high_fd(fd) for fd in os.pipe())
        err_r, err_w = (_high_fd(fd) for fd in os.pipe())
        try:
            pid = os.posix_spawn(
                self.interp, [self.interp, "-t", SCENARIO_PATH], {},
                file_actions=[(os.POSIX_SPAWN_DUP2, out_w, 1),
                              (os.POSIX_SPAWN_DUP2, err_w, 2),
                              (os.POSIX_SPAWN_DUP2, marker, MARKER_FD),
                              (os.POSIX_SPAWN_DUP2, scenario, SCENARIO_FD)],
                setpgroup=0, setsigmask=())
            self.session.running(self.interp, pid)
        finally:
            for fd in (scenario, marker, out_w, err_w):
                os.close(fd)
        return pid, out_r, err_r

    def _supervise(self, pid: int, out_r: int, err_r: int) -> tuple[str, str, dict]:
        """Arm tracing on the stopped interpreter, let it run to the end."""
        _, status = os.waitpid(pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            err = os.read(err_r, 65536).decode(errors="replace")
            raise OracleError(f"interpreter did not start (status {status:#x}): {err}")
        try:
            self.session.arm()
            os.kill(pid, signal.SIGCONT)
            out, err = self._collect(out_r, err_r)
            # EOF: every process closed its files, so their exit_mmap is done.
            return out, err, self._reap(pid)
        finally:
            self.session.disarm()

    def _collect(self, out_r: int, err_r: int) -> tuple[str, str]:
        """Read stdout and stderr of all scenario processes until EOF."""
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
        deadline = time.monotonic() + self.timeout
        with selectors.DefaultSelector() as sel:
            for fd in chunks:
                sel.register(fd, selectors.EVENT_READ)
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OracleError(f"scenario did not finish within {self.timeout:.0f} s")
                for key, _ in sel.select(left):
                    data = os.read(key.fd, 65536)
                    if data:
                        chunks[key.fd].append(data)
                    else:
                        sel.unregister(key.fd)
        return tuple(b"".join(chunks[fd]).decode(errors="replace") for fd in (out_r, err_r))

    @staticmethod
    def _reap(pgid: int) -> dict[int, int]:
        """Wait for every process of the group (orphans are ours too)."""
        statuses = {}
        while True:
            try:
                pid, status = os.waitpid(-pgid, 0)
            except ChildProcessError:
                return statuses
            statuses[pid] = status


def run_on_kernel(path: str) -> KernelRun:
    """Run one plain scenario file on the live kernel and return its trace
    lines; ScenarioError before any tracefs work if it is not one."""
    parse_file(path, plain=True)
    with KernelOracle() as oracle:
        return oracle.run(path)
