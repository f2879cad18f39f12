"""Concurrent scenarios: ``together`` blocks run under a schedule strategy.

``ScenarioProgram`` is the explorer's program for a scenario file: every run
boots a fresh kernel of the scenario's variant with lockdep attached, runs
the plain lines one after another as ``anonvma trace`` does, and starts the
lines of a ``together`` block at the same moment, each in its own task, the
block ending when all of them have.  The first line of a process in a block
runs as that process's task, a further line of the same process as a new
thread of it (a task sharing its mm), which is gone after the block.

The model's invariants are checked after every ``together`` block and every
line after the first block: the plain lines before it are the same in every
run and are checked once, by the sequential run.  After the final exits
every object must be freed.  A violation is reported on the bus
(``report("invariant", ...)``, ``report("leak", ...)``) like lockdep's and
the hung-task detector's reports, so the explorer treats them alike.
"""

from __future__ import annotations

from ..checks.invariants import check_all_freed, check_invariants
from ..kernel.kernel.sched.core import task_struct
from ..scenario import Runner, Scenario, ScenarioError, Together
from ..model import make_kernel


class _Procs(dict):
    """name -> Process, except that a thread started for a together block
    finds itself under its process's name: ``Runner.run_line`` looks the
    process up once, at its start, in the context of the running task."""

    def __init__(self, procs: dict, kernel):
        super().__init__(procs)
        self.kernel = kernel
        self.threads: dict = {}         # thread task -> its Process

    def get(self, name, default=None):
        thread = self.threads.get(self.kernel.current)
        if thread is not None and thread.name == name:
            return thread
        return super().get(name, default)


def check_together(sc: Scenario) -> None:
    """What the explorer cannot run, rejected before anything runs: an
    ``exit`` (exit_group) of a process that has another thread in the block
    would tear the mm down under that thread."""
    for step in sc.steps:
        if isinstance(step, Together):
            procs = [line.proc for line in step.lines]
            for line in step.lines:
                if line.op == "exit" and procs.count(line.proc) > 1:
                    raise ScenarioError(sc.path, line.lineno, "a process with several lines in "
                                        "one together block cannot exit in it; move the exit "
                                        "after 'end'")


class ConcurrentRunner(Runner):
    """The scenario runner, with ``together`` blocks run by ``kernel.sched``."""

    def __init__(self, kernel, make_it_fail=()):
        super().__init__(kernel, make_it_fail)
        self.procs = _Procs(self.procs, kernel)
        self.group_exits: list = []

    def run_step(self, sc: Scenario, step) -> None:
        if not isinstance(step, Together):
            self.run_line(step)
            return
        k = self.kernel
        sched = k.sched
        started: set[str] = set()
        for line in step.lines:
            proc = self.procs.get(line.proc)
            if proc is None or proc.dead:
                # run_line answers ESRCH without touching the task.
                task = task_struct(k.alloc_pid(), line.proc)
            elif line.proc not in started:
                started.add(line.proc)
                task = proc.task
            else:
                # clone(CLONE_VM): the thread holds a reference on the mm, so
                # the process exiting meanwhile leaves the mm to the thread's
                # mmput(), as in the kernel.
                task = task_struct(k.alloc_pid(), proc.task.comm, proc.task.mm)
                task.mm.mm_users += 1
                self.procs.threads[task] = type(proc)(line.proc, task)
                sched.spawn(task, self._thread, line, task)
                continue
            sched.spawn(task, self.run_line, line)
        try:
            sched.run()
        finally:
            self.procs.threads.clear()
        exits, self.group_exits = self.group_exits, []
        for proc in exits:
            if not proc.dead:
                self.do_exit(proc)

    def _thread(self, line, task) -> None:
        self.run_line(line)
        mm, task.mm = task.mm, None
        self.kernel.mmput(mm)

    def do_exit(self, proc) -> None:
        if proc.task in self.procs.threads:
            # A thread killed by a signal: exit_group() kills the process,
            # whose other tasks die on their way back to user space, that is
            # when the block's lines have returned.
            proc.dead = True
            self.group_exits.append(dict.get(self.procs, proc.name))
            return
        super().do_exit(proc)


class ScenarioProgram:
    """A parsed scenario as a program for ``anonvma.explore.runner``."""

    def __init__(self, sc: Scenario, variant: str | None = None, checks: bool = True,
                 lockdep: bool = True):
        check_together(sc)
        self.sc = sc
        self.variant = variant or sc.settings.get("variant")
        self.checks = checks
        self.lockdep = lockdep
        self.name = sc.path

    def boot(self):
        return make_kernel(self.sc, self.variant, lockdep=self.lockdep)

    def run(self, kernel) -> None:
        runner = ConcurrentRunner(kernel, self.sc.settings.get("make_it_fail", ()))
        concurrent = False
        for step in self.sc.steps:
            runner.run_step(self.sc, step)
            concurrent = concurrent or isinstance(step, Together)
            if self.checks and concurrent:
                self._report(kernel, "invariant", check_invariants(kernel), step)
        runner.exit_all()
        if self.checks:
            self._report(kernel, "invariant", check_invariants(kernel), None)
            self._report(kernel, "leak", check_all_freed(kernel), None)

    @staticmethod
    def _report(kernel, kind: str, problems: list[str], step) -> None:
        if problems and kernel.trace.report.probes:
            where = f"after line {step.lineno}: " if step is not None else "at the end: "
            kernel.trace.report(kind, where + "\n".join(problems) + "\n")
