"""A private tracefs instance recording the anon_vma slab events.

Everything happens in ``instances/anonvma_<pid>_<n>``: its own ring buffer,
event enables, filters, triggers, ``set_event_pid``, options and clock, so the
top-level tracefs state is never written.  Leaving the session (normally, by
an exception, or by SIGINT/SIGTERM/SIGHUP, which are turned into exceptions
while a session is open) removes the instance, and the last session to leave
unmounts tracefs if a session mounted it.

A session survives its own SIGKILL through what it writes down before it
acts, in STATE_DIR: a record per session (its pid and start time, its
instance, the pid of the interpreter it is running) and a marker while
tracefs is mounted by the oracle.  The next session, under the same lock,
kills the interpreters of dead sessions (after checking that the pid still
runs the interpreter binary: a stopped, orphaned interpreter keeps
``trace_marker`` open and the instance busy), removes their instances,
takes over their mount, and says so in one line on stderr.

A scenario that asks for swap (``set swap N``) gets a swap file of its own
for the time it runs (``swap_file``): written down in the record before
the file exists, swapped off and removed after the run, and by the next
session if this one was killed meanwhile.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .errors import OracleError, OracleUnavailable

MOUNTPOINT = "/sys/kernel/tracing"
STATE_DIR = Path("/run/anonvma")     # tmpfs: forgotten at reboot, like the instances
MOUNT_MARKER = "tracefs-mounted-{ns}"   # per mount namespace, as the mount is
INSTANCE_PREFIX = "anonvma_"
EVENTS = ("kmem/kmem_cache_alloc", "kmem/kmem_cache_free")
CACHE_FILTER = 'name == "anon_vma_chain" || name == "anon_vma"'
BUFFER_KB = 4096
LOSS_COUNTERS = ("overrun", "commit overrun", "dropped events")
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# swapon(2): the highest priority, so that the scenario's swap is used first
SWAP_FLAG_PREFER, SWAP_FLAG_PRIO_MASK = 0x8000, 0x7fff
PAGE_SIZE = 4096
MIN_SWAP_SLOTS, MAX_SWAP_SLOTS = 9, 1 << 18     # mkswap needs 10 pages; 1 GiB at most
_SESSION_IDS = itertools.count()     # sessions of one process may nest


@contextlib.contextmanager
def signals_deferred():
    """Hold SIGINT/SIGTERM/SIGHUP back: their handlers raise, and an
    exception between open() and close() of an instance file would leak an
    fd that keeps the instance from being removed."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _write(path: Path, text: str) -> None:
    with signals_deferred():
        # O_TRUNC matters: it is what clears "trace" and "set_event_pid".
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)


def _read(path: Path) -> str:
    with signals_deferred():
        return path.read_text()


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


class _Signalled(BaseException):
    """SIGTERM/SIGHUP during a session: unwinds like KeyboardInterrupt."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def _raise_on_signal(signum, frame):
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise _Signalled(signum)


def _tracefs_mounted() -> bool:
    return os.path.exists(os.path.join(MOUNTPOINT, "trace"))


def _mount() -> None:
    if _libc().mount(b"nodev", MOUNTPOINT.encode(), b"tracefs", 0, None) != 0:
        err = ctypes.get_errno()
        raise OracleUnavailable(
            f"tracefs is not mounted and mounting it on {MOUNTPOINT} failed "
            f"({os.strerror(err)}); mount it with 'mount -t tracefs nodev {MOUNTPOINT}'")


# -- the state of sessions, for the one after a crash ---------------------------------

def _start_time(pid: int) -> str | None:
    """The start time of a process (/proc/PID/stat field 22), which tells it
    from a later process with the same pid; None if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a process, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[2])


def _mnt_ns(pid: int | str = "self") -> str | None:
    """The mount namespace of a process, e.g. '4026531840'."""
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt").strip("mnt:[]")
    except OSError:
        return None


def _mount_marker() -> Path:
    return STATE_DIR / MOUNT_MARKER.format(ns=_mnt_ns())


def _runs(pid: int, binary: str) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)") == binary
    except OSError:
        return False


@contextlib.contextmanager
def _state_lock():
    """Sessions of every process take turns at entering and leaving."""
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(STATE_DIR / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict) -> None:
    # signals held back: a handler raising between the write and the
    # rename would leave the .tmp behind a session that otherwise cleans up
    with signals_deferred():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)


def _records() -> list[tuple[Path, dict]]:
    """Every session record; a torn one (a crash mid-write) reads as {}."""
    out = []
    for path in sorted(STATE_DIR.glob("session-*.json")):
        try:
            out.append((path, json.loads(path.read_text())))
        except (OSError, ValueError):
            out.append((path, {}))
    return out


def _alive(record: dict) -> bool:
    return "pid" in record and _start_time(record["pid"]) == record["start"]


def _holds(pid: int, inst: Path) -> bool:
    """Whether the process has a file of the instance open."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    prefix = f"{inst}/"
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(prefix):
                return True
    return False


def _kill_interpreters(record: dict, root: Path) -> list[int]:
    """SIGKILL the processes of a dead session's interpreters: each leads
    its own process group, with the scenario's processes in it.  Killed are
    only processes that still run the interpreter binary and are in a
    recorded group, or hold a file of the session's instance (an
    interpreter started just before the SIGKILL, not yet recorded); then
    wait until they are gone."""
    binary, groups = record.get("interp"), set(record.get("interpreters", ()))
    inst = root / "instances" / record.get("instance", "-")
    killed = []
    if not binary:
        return killed
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        st = _proc_stat(pid)
        if st is not None and _runs(pid, binary) and (st[1] in groups or _holds(pid, inst)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
            (st := _proc_stat(pid)) is not None and st[0] != "Z" for pid in killed):
        time.sleep(0.01)
    return killed


def _rmdir_instance(inst: Path) -> None:
    """Remove an instance; its files may still be closing (a killed holder
    closes them in do_exit).  rmdir tears down events, triggers and the pid
    filter by itself; clearing set_event_pid first would only cost a grace
    period."""
    for rel in ["tracing_on"] + [f"events/{e}/enable" for e in EVENTS]:
        with contextlib.suppress(OSError):
            _write(inst / rel, "0")
    for _ in range(100):
        try:
            inst.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as ex:
            if ex.errno != errno.EBUSY:
                raise
            time.sleep(0.02)
    inst.rmdir()


def _swapoff(path: str) -> None:
    """Swap a file off (EINVAL: it was not on; ENOENT: not made yet) and
    remove it."""
    libc = _libc()
    if libc.swapoff(os.fsencode(path)) != 0 and \
            ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), path)
    Path(path).unlink(missing_ok=True)


def _instance_owners(root: Path) -> dict[str, int]:
    """Oracle instance -> the pid in its name."""
    owners = {}
    for inst in (root / "instances").glob(INSTANCE_PREFIX + "*"):
        owner = inst.name[len(INSTANCE_PREFIX):].split("_")[0]
        if owner.isdigit():
            owners[inst.name] = int(owner)
    return owners


def cleanup_stale_sessions(root: Path, mounted_by_oracle: bool = False) -> str | None:
    """Undo what dead sessions left (call with the state lock held); the
    one line saying what was cleaned, or None.  ``mounted_by_oracle``: we
    found tracefs mounted by an oracle session, which may be one of them."""
    removed, killed, failed = [], [], []
    records = _records()
    live_owners = {r["pid"] for _, r in records if _alive(r)}
    stale = {}
    swapped_off = []
    for path, record in records:
        if not _alive(record):
            killed += _kill_interpreters(record, root)
            if record.get("swapfile"):
                try:
                    _swapoff(record["swapfile"])
                    swapped_off.append(record["swapfile"])
                except OSError as ex:
                    failed.append(f"{record['swapfile']} ({ex.strerror})")
                    continue    # the record stays, for the next session to try again
            if "instance" in record:
                stale[record["instance"]] = path
            else:
                path.unlink()
    for tmp in STATE_DIR.glob("session-*.tmp"):      # a record being written at the crash
        if not _pid_alive(int(tmp.name.split("-")[1])):
            tmp.unlink(missing_ok=True)
    # instances of dead owners without a record too (a lost state directory)
    for name, owner in _instance_owners(root).items():
        if owner not in live_owners and not _pid_alive(owner):
            stale.setdefault(name, None)
    for name, path in stale.items():
        inst = root / "instances" / name
        existed = inst.exists()
        try:
            _rmdir_instance(inst)
        except OSError as ex:
            failed.append(f"{name} ({ex.strerror})")
            continue            # the record stays, for the next session to try again
        if existed:
            removed.append(name)
        if path is not None:
            path.unlink()
    if not (removed or killed or failed or swapped_off):
        return None
    what = []
    if swapped_off:
        what.append("swapped off and removed " + ", ".join(swapped_off))
    if killed:
        what.append("killed interpreter process " + ", ".join(map(str, killed)))
    if removed:
        what.append("removed tracefs instance " + ", ".join(removed))
    if failed:
        what.append("could not remove " + ", ".join(failed))
    if mounted_by_oracle and not live_owners:
        what.append("tracefs, which they mounted, is unmounted when this session ends")
    return "anonvma: cleaned up after a killed oracle session: " + "; ".join(what)


class TraceSession:
    """Context manager owning one tracefs instance.

    with TraceSession() as ts:
        ts.arm(pid); ...; ts.disarm(); text = ts.read_trace()
    """

    def __init__(self, buffer_kb: int = BUFFER_KB):
        self.buffer_kb = buffer_kb
        self.root = Path(MOUNTPOINT)
        self.dir: Path | None = None
        self.record_path: Path | None = None
        self.record: dict = {}
        self._old_handlers: dict[int, object] = {}

    # -- entering and leaving ----------------------------------------------
    def __enter__(self) -> "TraceSession":
        self._catch_signals()
        try:
            if os.geteuid() != 0:
                raise OracleUnavailable("the live-kernel oracle needs root (tracefs); "
                                        "run it as root")
            with _state_lock():
                adopted = _tracefs_mounted() and _mount_marker().exists()
                self._mount_if_needed()
                cleaned = cleanup_stale_sessions(self.root, adopted)
                self._check_events()
                n = next(_SESSION_IDS)
                name = f"{INSTANCE_PREFIX}{os.getpid()}_{n}"
                # Written down before it exists, so that a crash cannot
                # leave an instance nobody knows about.
                self.record = {"pid": os.getpid(), "start": _start_time(os.getpid()),
                               "mnt_ns": _mnt_ns(), "instance": name, "interp": None,
                               "interpreters": []}
                self.record_path = STATE_DIR / f"session-{os.getpid()}-{n}.json"
                _write_json(self.record_path, self.record)
                self.dir = self.root / "instances" / name
                os.mkdir(self.dir)
            if cleaned:
                print(cleaned, file=sys.stderr)
            self._configure()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()
        if isinstance(exc, _Signalled):
            # Cleaned up: now die of the signal as if we had not caught it.
            signal.raise_signal(exc.signum)

    def close(self) -> None:
        """Remove the instance and the record; the last session unmounts
        tracefs if the oracle mounted it.  Idempotent."""
        with signals_deferred():
            try:
                if self.dir is not None:
                    self._remove_instance()
                    self.dir = None
                with _state_lock():
                    if self.record_path is not None:
                        self.record_path.unlink(missing_ok=True)
                        self.record_path = None
                    self._unmount_if_last()
            finally:
                # Handlers first, so a signal that came meanwhile gets the
                # caller's handler once unblocked.
                self._restore_signals()

    @contextlib.contextmanager
    def swap_file(self, slots: int):
        """A swap file of ``slots`` pages (and mkswap's header page), on at
        the highest priority while the block runs."""
        if not MIN_SWAP_SLOTS <= slots <= MAX_SWAP_SLOTS:
            raise OracleUnavailable(
                f"set swap {slots}: the live kernel's swap file takes from {MIN_SWAP_SLOTS} "
                f"to {MAX_SWAP_SLOTS} slots (mkswap needs ten pages); the model runs any")
        path = STATE_DIR / f"swap-{os.getpid()}-{self.record_path.stem.rsplit('-', 1)[1]}"
        with signals_deferred():
            # written down before the file exists, as the instance is
            self.record["swapfile"] = str(path)
            _write_json(self.record_path, self.record)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, bytes((slots + 1) * PAGE_SIZE))    # no holes: swapon refuses them
                os.fsync(fd)
            finally:
                os.close(fd)
            res = subprocess.run(["mkswap", "-q", str(path)], capture_output=True, text=True)
            if res.returncode != 0:
                raise OracleUnavailable(f"mkswap: {res.stderr.strip() or res.returncode}")
            libc = _libc()
            if libc.swapon(os.fsencode(path), SWAP_FLAG_PREFER | SWAP_FLAG_PRIO_MASK) != 0:
                raise OracleUnavailable(f"swapon: {os.strerror(ctypes.get_errno())}")
            yield
        finally:
            with signals_deferred():
                _swapoff(str(path))
                self.record["swapfile"] = None
                _write_json(self.record_path, self.record)

    def running(self, interp: str, pid: int | None) -> None:
        """Record the interpreter now running (None: it has been reaped)."""
        self.record.update(interp=interp, interpreters=[] if pid is None else [pid])
        _write_json(self.record_path, self.record)

    def _mount_if_needed(self) -> None:
        if _tracefs_mounted():
            return
        if "tracefs" not in Path("/proc/filesystems").read_text().split():
            raise OracleUnavailable("this kernel has no tracefs (CONFIG_TRACING is off)")
        if not os.path.isdir(MOUNTPOINT):
            raise OracleUnavailable(
                f"no tracefs: {MOUNTPOINT} does not exist (kernel without CONFIG_TRACING?)")
        _mount_marker().write_text(str(os.getpid()))   # the intent first
        _mount()

    def _unmount_if_last(self) -> None:
        """Unmount if a session mounted tracefs in this mount namespace and
        no session here uses it any more."""
        marker, ns = _mount_marker(), _mnt_ns()
        if not marker.exists() or any(_alive(r) and r.get("mnt_ns") == ns for _, r in _records()):
            return
        if _tracefs_mounted() and any(_pid_alive(owner) and _mnt_ns(owner) == ns
                                      for owner in _instance_owners(self.root).values()):
            return          # a session without a record (an older anonvma) still runs
        if _tracefs_mounted() and _libc().umount2(MOUNTPOINT.encode(), 0) != 0:
            print(f"anonvma: tracefs stays mounted on {MOUNTPOINT}: "
                  f"{os.strerror(ctypes.get_errno())}", file=sys.stderr)
            return
        marker.unlink()

    def _catch_signals(self) -> None:
        for sig in SIGNALS:
            try:
                self._old_handlers[sig] = signal.signal(sig, _raise_on_signal)
            except ValueError:      # not the main thread: the caller handles them
                break

    def _restore_signals(self) -> None:
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)
        self._old_handlers.clear()

    def _check_events(self) -> None:
        for event in EVENTS:
            if not (self.root / "events" / event / "format").exists():
                raise OracleUnavailable(
                    f"tracepoint {event} is missing from {MOUNTPOINT}/events; "
                    "the kernel needs CONFIG_TRACEPOINTS with the kmem events")
        if not (self.root / "instances").is_dir():
            raise OracleUnavailable(f"{MOUNTPOINT}/instances is missing (kernel too old)")

    def _remove_instance(self) -> None:
        try:
            _rmdir_instance(self.dir)
        except OSError as ex:
            raise OracleError(f"cannot remove tracefs instance {self.dir}: {ex}") from ex

    def _configure(self) -> None:
        d = self.dir
        _write(d / "tracing_on", "0")
        _write(d / "buffer_size_kb", str(self.buffer_kb))
        # Keep the oldest events and count what does not fit.
        _write(d / "options/overwrite", "0")
        # One global order across CPUs, consistent with causality.
        _write(d / "trace_clock", "counter")
        for event in EVENTS:
            _write(d / "events" / event / "filter", CACHE_FILTER)
            # The kernel stack tells the callers apart; filtered like the
            # event, or it would stack every slab event of the process.
            _write(d / "events" / event / "trigger", f"stacktrace if {CACHE_FILTER}")
        # Only our process tree: we and our descendants (event-fork adds a
        # child at fork and drops it at exit).  Set once for the session:
        # every change of set_event_pid waits for an RCU grace period
        # (20-80 ms), which would dominate a run.  Within the tree, only
        # processes the interpreter announced are kept (events.render).
        _write(d / "options/event-fork", "1")
        _write(d / "set_event_pid", str(os.getpid()))
        for event in EVENTS:
            _write(d / "events" / event / "enable", "1")

    # -- one traced run --------------------------------------------------------
    def marker_path(self) -> Path:
        return self.dir / "trace_marker"

    def arm(self) -> None:
        self._drain()       # what an interrupted run left behind
        self._stats = self.loss_counters()
        _write(self.dir / "tracing_on", "1")

    def disarm(self) -> None:
        _write(self.dir / "tracing_on", "0")

    def read_trace(self) -> str:
        """The trace of the last run; raises OracleError if events were lost."""
        text = self._drain()
        lost = {k: v - self._stats.get(k, 0) for k, v in self.loss_counters().items()
                if v != self._stats.get(k, 0)}
        if lost:
            raise OracleError(f"tracefs lost events {lost}; the ring buffer "
                              f"({self.buffer_kb} KiB per CPU) is too small")
        return text

    def _drain(self) -> str:
        """Consume the ring buffer through trace_pipe: unlike a read of
        "trace", this leaves it empty without a reset (an RCU grace period)."""
        chunks = []
        with signals_deferred():
            fd = os.open(self.dir / "trace_pipe", os.O_RDONLY | os.O_NONBLOCK)
            try:
                while True:
                    try:
                        data = os.read(fd, 1 << 16)
                    except BlockingIOError:
                        break
                    if not data:
                        break
                    chunks.append(data)
            finally:
                os.close(fd)
        return b"".join(chunks).decode(errors="replace")

    def loss_counters(self) -> dict[str, int]:
        counters = {}
        for stats in (self.dir / "per_cpu").glob("cpu*/stats"):
            for line in _read(stats).splitlines():
                key, _, value = line.partition(":")
                if key.strip() in LOSS_COUNTERS:
                    counters[f"{stats.parent.name}.{key.strip()}"] = int(value)
        return counters
