"""A private tracefs instance recording the anon_vma slab events.

Everything happens in ``instances/anonvma_<pid>_<n>``: its own ring buffer,
event enables, filters, triggers, ``set_event_pid``, options and clock, so the
top-level tracefs state is never written.  Leaving the session (normally, by
an exception, or by SIGINT/SIGTERM/SIGHUP, which are turned into exceptions
while a session is open) removes the instance, and unmounts tracefs if the
session mounted it.  A SIGKILLed owner leaves its instance behind; the next
session removes instances whose owner pid is dead.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import signal
from pathlib import Path

from .errors import OracleError, OracleUnavailable

MOUNTPOINT = "/sys/kernel/tracing"
INSTANCE_PREFIX = "anonvma_"
EVENTS = ("kmem/kmem_cache_alloc", "kmem/kmem_cache_free")
CACHE_FILTER = 'name == "anon_vma_chain" || name == "anon_vma"'
BUFFER_KB = 4096
LOSS_COUNTERS = ("overrun", "commit overrun", "dropped events")
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
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


def cleanup_stale_instances(root: Path) -> list[str]:
    """Remove the instances of oracle sessions whose process is gone."""
    removed = []
    for inst in (root / "instances").glob(INSTANCE_PREFIX + "*"):
        owner = inst.name[len(INSTANCE_PREFIX):].split("_")[0]
        if not owner.isdigit() or _pid_alive(int(owner)):
            continue
        try:
            _write(inst / "tracing_on", "0")
            inst.rmdir()
            removed.append(inst.name)
        except OSError:
            pass
    return removed


class TraceSession:
    """Context manager owning one tracefs instance.

    with TraceSession() as ts:
        ts.arm(pid); ...; ts.disarm(); text = ts.read_trace()
    """

    def __init__(self, buffer_kb: int = BUFFER_KB):
        self.buffer_kb = buffer_kb
        self.root = Path(MOUNTPOINT)
        self.dir: Path | None = None
        self.mounted = False
        self._old_handlers: dict[int, object] = {}

    # -- entering and leaving ----------------------------------------------
    def __enter__(self) -> "TraceSession":
        self._catch_signals()
        try:
            self._check_and_mount()
            cleanup_stale_instances(self.root)
            self.dir = self.root / "instances" / \
                f"{INSTANCE_PREFIX}{os.getpid()}_{next(_SESSION_IDS)}"
            os.mkdir(self.dir)
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
        """Remove the instance and undo the mount; idempotent."""
        with signals_deferred():
            try:
                if self.dir is not None:
                    self._remove_instance()
                    self.dir = None
                if self.mounted:
                    _libc().umount2(MOUNTPOINT.encode(), 0)
                    self.mounted = False
            finally:
                # Handlers first, so a signal that came meanwhile gets the
                # caller's handler once unblocked.
                self._restore_signals()

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

    def _check_and_mount(self) -> None:
        if os.geteuid() != 0:
            raise OracleUnavailable("the live-kernel oracle needs root (tracefs); run it as root")
        if not _tracefs_mounted():
            if not os.path.isdir(MOUNTPOINT):
                raise OracleUnavailable(
                    f"no tracefs: {MOUNTPOINT} does not exist (kernel without CONFIG_TRACING?)")
            _mount()
            self.mounted = True
        for event in EVENTS:
            if not (self.root / "events" / event / "format").exists():
                raise OracleUnavailable(
                    f"tracepoint {event} is missing from {MOUNTPOINT}/events; "
                    "the kernel needs CONFIG_TRACEPOINTS with the kmem events")
        if not (self.root / "instances").is_dir():
            raise OracleUnavailable(f"{MOUNTPOINT}/instances is missing (kernel too old)")

    def _remove_instance(self) -> None:
        # rmdir tears down events, triggers and the pid filter by itself;
        # clearing set_event_pid first would only cost a grace period.
        for rel, value in [("tracing_on", "0")] + [(f"events/{e}/enable", "0") for e in EVENTS]:
            try:
                _write(self.dir / rel, value)
            except OSError:
                pass
        try:
            self.dir.rmdir()
        except FileNotFoundError:
            pass            # interrupted before mkdir
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
