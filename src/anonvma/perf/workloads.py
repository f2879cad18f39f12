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
                N clients on N CPUs.
``mmap-merge``  Peter Zijlstra's benchmark (lore 1303392504.2035.137.camel@laptop):
                N forked tasks each munmap() and mmap(MAP_FIXED) one page of
                the parent's faulted anonymous mapping, over and over: a split
                and an unlink under the one shared root.  N tasks on
                ``min(N, 24)`` CPUs, his dual-socket Westmere EP's threads.
``fork_test``   aim7's fork_test: ``tasks_per_cpu`` workers per CPU (aim7 runs
                many more users than CPUs) forked from one parent, each
                forking a child that exits at once, and waiting for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario import Line


@dataclass
class Workload:
    name: str
    unit: str                   # what the throughput counts

    def machine_cpus(self, n: int) -> int:
        return n


class Program:
    """What a worker's task runs: scenario lines and user-space work."""

    def __init__(self, runner, sched):
        self.runner = runner
        self.sched = sched

    def line(self, proc: str, op: str, *args) -> None:
        self.runner.run_line(Line(0, proc, op, args))

    def work(self, ns: float) -> None:
        self.sched.charge(self.sched.kernel.current, ns, "user")

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


def _shared_parent(vmas: int, memory: int | None) -> list[str]:
    """P0 with ``vmas`` written single-page VMAs two pages apart (they never
    merge; each has an anon_vma), as benchmarks/fork_exit.c builds them."""
    lines = ["set lockdep off"] + _pressure(memory)
    for i in range(vmas):
        lines += [f"P0 mmap {2 * i} 1 rw", f"P0 write {2 * i}"]
    return lines


def _pressure(memory: int | None) -> list[str]:
    """Memory pressure: a small zone with swap, fifteen sixteenths of it filled
    by P0 (one more VMA under the shared root), so that the workload's
    allocations go below the watermark and enter direct reclaim, whose
    rmap walks take the anon_vma locks."""
    if not memory:
        return []
    fill = memory * 15 // 16
    return ([f"set memory {memory}", f"set swap {4 * memory}", f"P0 mmap 4096 {fill} rw"]
            + [f"P0 write {4096 + i}" for i in range(fill)])


class Exim(Workload):

    def __init__(self):
        super().__init__("exim", "messages")

    def setup(self, n: int, p: dict, memory) -> str:
        lines = _shared_parent(p["vmas"], memory)
        lines += [f"P0 fork C{i}" for i in range(n)]
        return "\n".join(lines) + "\n"

    def units(self, n: int, p: dict) -> int:
        return n * p["messages"]

    def spawn(self, prog: Program, n: int, p: dict) -> None:
        for i in range(n):
            conn = f"C{i}"
            prog.sched.spawn(prog.runner.procs[conn].task, self.connection, prog, conn, p)

    def connection(self, prog: Program, conn: str, p: dict) -> None:
        for m in range(p["messages"]):
            child = prog.fork(conn, f"D{conn[1:]}.{m}",
                              lambda name: self.delivery(prog, name, p))
            prog.work(p["receive_ns"])
            prog.wait4(child)
        prog.line(conn, "exit")

    def delivery(self, prog: Program, name: str, p: dict) -> None:
        for i in range(p["touch"]):
            prog.line(name, "write", 2 * i)
        prog.work(p["deliver_ns"])
        prog.line(name, "exit")


class MmapMerge(Workload):

    def __init__(self):
        super().__init__("mmap-merge", "munmap+mmap pairs")

    def machine_cpus(self, n: int) -> int:
        return min(n, 24)

    def setup(self, n: int, p: dict, memory) -> str:
        lines = ["set lockdep off"] + _pressure(memory)
        # one written page gives the mapping its anon_vma, the root of all
        lines += [f"P0 mmap 0 {n * self.window(p)} rw", "P0 write 0"]
        lines += [f"P0 fork T{i}" for i in range(n)]
        return "\n".join(lines) + "\n"

    def units(self, n: int, p: dict) -> int:
        return n * p["iterations"]

    @staticmethod
    def window(p: dict) -> int:
        return 2 * p["iterations"] + 2

    def spawn(self, prog: Program, n: int, p: dict) -> None:
        for i in range(n):
            name = f"T{i}"
            prog.sched.spawn(prog.runner.procs[name].task, self.task, prog, name,
                             i * self.window(p), p)

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

    def setup(self, n: int, p: dict, memory) -> str:
        lines = _shared_parent(p["vmas"], memory)
        lines += [f"P0 fork W{i}" for i in range(n * p["tasks_per_cpu"])]
        return "\n".join(lines) + "\n"

    def units(self, n: int, p: dict) -> int:
        return n * p["tasks_per_cpu"] * p["forks"]

    def spawn(self, prog: Program, n: int, p: dict) -> None:
        for i in range(n * p["tasks_per_cpu"]):
            name = f"W{i}"
            prog.sched.spawn(prog.runner.procs[name].task, self.worker, prog, name, p)

    def worker(self, prog: Program, name: str, p: dict) -> None:
        for k in range(p["forks"]):
            child = prog.fork(name, f"{name}.{k}", lambda c: self.child(prog, c, p))
            prog.wait4(child)
        prog.line(name, "exit")

    def child(self, prog: Program, name: str, p: dict) -> None:
        prog.work(p["child_ns"])
        prog.line(name, "exit")


WORKLOADS = {w.name: w for w in (Exim(), MmapMerge(), ForkTest())}
