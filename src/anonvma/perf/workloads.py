"""The workloads, as scenario-level programs: every step a scenario line
(``P0 mmap 0 1 rw``, ``C1 fork D1.1``, ``D1.1 write 4``, ``D1.1 exit``) run by
the session's runner on the kernel model, plus ``work`` (user-space time
between system calls) and ``wait4`` (a parent waiting for its child).

A workload has a *setup* (a plain scenario run sequentially before the
clock starts: the shared parent, its anonymous VMAs, the forked workers)
and one *program* per worker, run as a task on the simulated CPUs.

``exim``        MOSBENCH's exim (Boyd-Wickizer et al., OSDI 2010): per client a
                connection process forked from the daemon; per message it
                forks a delivery process that touches a few of the inherited
                pages and exits, while the connection process receives the
                next message; the daemon's anonymous VMAs are shared down the
                tree, so every fork and exit takes the daemon's root lock.
                N clients on N CPUs; with ``client_ns`` > 0 the clients are
                tasks on the same CPUs (MOSBENCH runs them on the server's
                machine), each a process of its own that works ``client_ns``
                per message, sends it (waking its connection process) and
                sleeps until the connection's reply.
``mmap-merge``  Peter Zijlstra's benchmark (lore 1303392504.2035.137.camel@laptop):
                N forked tasks each munmap() and mmap(MAP_FIXED) one page of
                the parent's faulted anonymous mapping, over and over: a split
                and an unlink under the one shared root.  N tasks on
                ``min(N, 24)`` CPUs, his dual-socket Westmere EP's threads.
``fork_test``   aim7's fork_test: ``tasks_per_cpu`` workers per CPU (aim7 runs
                many more users than CPUs) forked from one parent, each
                forking a child that exits at once, and waiting for it.

Under memory pressure (``pressure``) a process forked from P0 before P0 maps
anything, so with an anon_vma tree of its own, writes a region twice the
zone's size over and over while the workers run: the ``cp`` Hugh Dickins ran
beside his forks.  The zone stays at its watermarks, so the workers'
allocations, the slab pages of anon_vma_clone()'s chains among them, enter
direct reclaim.  The writer fills the zone during the setup, after the
workload's own pages, which reclaim sends to swap first.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.kernel.sched.core import TASK_DEAD
from ..scenario import Line


@dataclass
class Workload:
    name: str
    unit: str                   # what the throughput counts

    def machine_cpus(self, n: int) -> int:
        return n


USER_STEP_NS = 20000.0


class Program:
    """What a worker's task runs: scenario lines and user-space work."""

    def __init__(self, runner, sched):
        self.runner = runner
        self.sched = sched
        self.workers: list = []

    def spawn(self, proc: str, body, *args) -> None:
        """Start the setup's process ``proc`` as a worker running ``body``."""
        task = self.runner.procs[proc].task
        self.workers.append(task)
        self.sched.spawn(task, body, self, proc, *args)

    def working(self) -> bool:
        return any(t.state != TASK_DEAD for t in self.workers)

    def line(self, proc: str, op: str, *args) -> None:
        self.runner.run_line(Line(0, proc, op, args))

    def work(self, ns: float) -> None:
        """User time.  A wakeup preempts user space at once (the resched IPI
        returns to user through schedule()); the model looks every
        ``USER_STEP_NS``."""
        task = self.sched.kernel.current
        while ns > 0:
            step = min(ns, USER_STEP_NS)
            self.sched.charge(task, step, "user")
            ns -= step
            self.sched.cond_resched()

    def fork(self, parent: str, child: str, body) -> object:
        """``parent fork child``, the child's task running ``body(child)``."""
        self.line(parent, "fork", child)
        proc = self.runner.procs.get(child)
        if proc is None:
            return None
        self.sched.spawn(proc.task, body, child)
        return proc.task

    def wait4(self, task) -> None:
        if task is not None:
            self.sched.wait4(task)


HOG = "H"
HOG_FIRST = 1 << 16          # the writer's region, clear of every workload's


def _shared_parent(vmas: int) -> list[str]:
    """P0 with ``vmas`` written single-page VMAs two pages apart (they never
    merge; each has an anon_vma), as benchmarks/fork_exit.c builds them."""
    lines = []
    for i in range(vmas):
        lines += [f"P0 mmap {2 * i} 1 rw", f"P0 write {2 * i}"]
    return lines


def _setup(own: list[str], workers: list[str], pressure: dict | None,
           apart: list[str] = ()) -> str:
    """The setup scenario: the processes forked before P0 maps anything
    (``apart``: no anon_vma of P0's), the workload's own mappings, under
    pressure the writer's zone-filling, then the workers' forks."""
    lines = ["set lockdep off"]
    if pressure:
        memory = pressure["memory"]
        lines += [f"set memory {memory}", f"set swap {4 * memory}", f"P0 fork {HOG}"]
    lines += apart
    lines += own
    if pressure:
        lines += [f"{HOG} mmap {HOG_FIRST} {2 * pressure['memory']} rw"]
        lines += [f"{HOG} write {HOG_FIRST + i}" for i in range(pressure["memory"])]
    lines += workers
    return "\n".join(lines) + "\n"


def spawn_pressure(prog: Program, pressure: dict) -> None:
    """The writer: one page after the other of its region, round and round
    (a fault, a swap-in once the region has been round), until the workers
    are done."""
    def writer(prog: Program, name: str) -> None:
        region = 2 * pressure["memory"]
        i = pressure["memory"]
        while prog.working():
            prog.line(name, "write", HOG_FIRST + i % region)
            prog.work(pressure["write_ns"])
            i += 1
        prog.line(name, "exit")
    prog.sched.spawn(prog.runner.procs[HOG].task, writer, prog, HOG)


class Channel:
    """One direction of a client's SMTP connection: the messages sent so
    far, and the task asleep in read() for the next one."""

    __slots__ = ("sent", "reader")

    def __init__(self):
        self.sent = 0
        self.reader = None

    def send(self, prog: Program) -> None:
        """write(): the reader, if asleep, is woken (try_to_wake_up on the
        writer's CPU time)."""
        sched = prog.sched
        self.sent += 1
        if self.reader is not None:
            task = sched.kernel.current
            sched.charge(task, sched.costs["lock"]["wake_ns"], "try_to_wake_up")
            # sock_def_readable(): a sync wakeup, the writer reads next
            sched.wake(self.reader, sched.clock[task], sync=True)
            self.reader = None

    def recv(self, prog: Program, n: int) -> None:
        """read() until the ``n``-th message has come."""
        if self.sent >= n:
            return
        self.reader = prog.sched.kernel.current
        prog.sched.sleep(self, lambda: self.sent >= n)


class Exim(Workload):

    def __init__(self):
        super().__init__("exim", "messages")

    def setup(self, n: int, p: dict, pressure) -> str:
        clients = [f"P0 fork K{i}" for i in range(n)] if p["client_ns"] else []
        return _setup(_shared_parent(p["vmas"]), [f"P0 fork C{i}" for i in range(n)], pressure,
                      clients)

    def units(self, n: int, p: dict) -> int:
        return n * p["messages"]

    def spawn(self, prog: Program, n: int, p: dict) -> None:
        for i in range(n):
            # ``stagger``: connection i of n starts i/n of a message's work
            # (times stagger) late, so that their forks do not come in step
            start = p["stagger"] * (p["receive_ns"] + p["deliver_ns"]) * i / n
            if p["client_ns"]:
                to_server, to_client = Channel(), Channel()
                prog.spawn(f"C{i}", self.connection, p, start, to_server, to_client)
                prog.spawn(f"K{i}", self.client, p, to_server, to_client)
            else:
                prog.spawn(f"C{i}", self.connection, p, start)

    def client(self, prog: Program, name: str, p: dict, to_server: Channel,
               to_client: Channel) -> None:
        for m in range(p["messages"]):
            prog.work(p["client_ns"])
            to_server.send(prog)
            to_client.recv(prog, m + 1)     # the server's "250 OK"
        prog.line(name, "exit")

    def connection(self, prog: Program, conn: str, p: dict, start_ns: float,
                   to_server: Channel | None = None, to_client: Channel | None = None) -> None:
        prog.work(start_ns)
        for m in range(p["messages"]):
            if to_server is not None:
                to_server.recv(prog, m + 1)
            child = prog.fork(conn, f"D{conn[1:]}.{m}",
                              lambda name: self.delivery(prog, name, p))
            if to_client is not None:
                to_client.send(prog)
            prog.work(p["receive_ns"])
            prog.wait4(child)
        prog.line(conn, "exit")

    def delivery(self, prog: Program, name: str, p: dict) -> None:
        # Under pressure the daemon's pages are in swap: a write reads the
        # page back and copies it (the daemon and the connection keep their
        # swap PTEs to the slot).
        for i in range(p["touch"]):
            prog.line(name, "write", 2 * i)
        prog.work(p["deliver_ns"])
        prog.line(name, "exit")


class MmapMerge(Workload):

    def __init__(self):
        super().__init__("mmap-merge", "munmap+mmap pairs")

    def machine_cpus(self, n: int) -> int:
        return min(n, 24)

    def setup(self, n: int, p: dict, pressure) -> str:
        # one written page gives the mapping its anon_vma, the root of all
        return _setup([f"P0 mmap 0 {n * self.window(p)} rw", "P0 write 0"],
                      [f"P0 fork T{i}" for i in range(n)], pressure)

    def units(self, n: int, p: dict) -> int:
        return n * p["iterations"]

    @staticmethod
    def window(p: dict) -> int:
        return 2 * p["iterations"] + 2

    def spawn(self, prog: Program, n: int, p: dict) -> None:
        for i in range(n):
            prog.spawn(f"T{i}", self.task, i * self.window(p), p)

    def task(self, prog: Program, name: str, first: int, p: dict) -> None:
        # A new unfaulted VMA does not merge with a forked neighbour
        # (is_mergeable_anon_vma's list_is_singular test), so each round
        # replaces the next page of the inherited mapping: munmap splits it
        # (anon_vma_clone) and unlinks the page's chain (unlink_anon_vmas)
        # under the shared root, mmap(MAP_FIXED) maps a fresh page there.
        for k in range(p["iterations"]):
            page = first + 2 * k + 1
            prog.line(name, "munmap", page, 1)
            prog.line(name, "mmap", page, 1, "rw", "fixed")
            prog.work(p["other_ns"])
        prog.line(name, "exit")


class ForkTest(Workload):

    def __init__(self):
        super().__init__("fork_test", "forks")

    def setup(self, n: int, p: dict, pressure) -> str:
        return _setup(_shared_parent(p["vmas"]),
                      [f"P0 fork W{i}" for i in range(n * p["tasks_per_cpu"])], pressure)

    def units(self, n: int, p: dict) -> int:
        return n * p["tasks_per_cpu"] * p["forks"]

    def spawn(self, prog: Program, n: int, p: dict) -> None:
        for i in range(n * p["tasks_per_cpu"]):
            prog.spawn(f"W{i}", self.worker, p)

    def worker(self, prog: Program, name: str, p: dict) -> None:
        for k in range(p["forks"]):
            child = prog.fork(name, f"{name}.{k}", lambda c: self.child(prog, c, p))
            prog.wait4(child)
        prog.line(name, "exit")

    def child(self, prog: Program, name: str, p: dict) -> None:
        prog.work(p["child_ns"])
        prog.line(name, "exit")


WORKLOADS = {w.name: w for w in (Exim(), MmapMerge(), ForkTest())}
