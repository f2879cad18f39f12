"""One scenario session: the one place where a scenario is booted and run.

    session = Session(parse_file("race.scn"), Config(variant="v3.0"))
    result = session.run()                  # sequential: trace, run, check-kernel
    machine = session.boot()                # one booted kernel, whose together
    machine.kernel.sched = Scheduler(...)   # blocks run under the explorer's
    machine.run()                           # scheduler

A ``Session`` is what to run: a parsed scenario, the kernel era it asks for
(``set variant``, or ``Config.variant`` from ``--variant``), and which
debugging facilities watch it.  ``boot()`` gives a ``Machine``: a fresh
kernel of that era with the scenario's memory and swap, lockdep in the era's
own flavour (unless ``set lockdep off``), the scenario's first process
(whose exec gives it its stack), fault injection configured as the ``set``
lines say (after boot, as one writes debugfs on a running machine), and the
checkers attached to the tracepoint bus.  ``Machine.run()`` runs the steps
one after another; a ``together`` block runs each of its lines in a task of
its own, interleaved by a strategy's scheduler (``anonvma.explore``).

Every command and test runs scenarios through here, so a ``set`` line means
the same to ``trace``, ``run``, ``explore``, ``replay`` and ``check-kernel``,
and the checkers report the same problems in the same order to all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import attach_checks
from .kernel.include.bug import KernelBug
from .kernel.include.sched import CLONE_PTHREAD
from .kernel.kernel.sched.core import HungTask, task_struct
from .kernel.mm.failslab import failslab
from .kernel.mm.slub import SLAB_FAILSLAB
from .scenario import Line, Runner, Scenario, ScenarioError, Together
from .trace import TraceLines
from .variants import get_variant, lockdep_for

# report kinds that tell what happened rather than that something is wrong
MESSAGE_KINDS = ("fault_injection", "oom", "printk")


@dataclass(frozen=True)
class Config:
    """How a session runs, beyond what the scenario's ``set`` lines say."""

    variant: str | type | None = None   # --variant (or an era class): overrides 'set variant'
    lockdep: bool = True                # lockdep attached (unless 'set lockdep off')
    checks: bool | str = True           # invariants after every step, leaks at the end:
    #                                     True or "full" walks the whole state, "scoped" what
    #                                     the step touched (the same reports; checks/scoped.py)
    fail_nth: tuple | None = None       # --fail-nth (line or None, n): overrides 'set fail_nth'
    trace: bool = True                  # keep the trace lines (an exploration needs none)


@dataclass
class ModelRun:
    """What one run of a scenario showed."""

    variant: str
    lines: list[str]                    # the trace lines, in the order they happened
    events: list[str]                   # the object events among them
    others: list[str]                   # maps lines and failures
    reports: list[tuple[str, str]] = field(default_factory=list)   # (kind, text), in order
    final_vmas: dict[str, list[str]] = field(default_factory=dict)
    caches: dict[str, tuple[int, int]] = field(default_factory=dict)   # name -> (allocated, freed)
    # With 'set fail_nth LINE:N': what that line's process read back from
    # /proc/self/fail-nth after the line, 0 iff the failure was injected.
    fail_nth_left: int | None = None

    @property
    def problems(self) -> list[str]:
        """Reports of something wrong (lockdep, hung task, invariant, leak, BUG)."""
        return [text for kind, text in self.reports if kind not in MESSAGE_KINDS]

    @property
    def messages(self) -> list[str]:
        """What the kernel printed that is not a problem: fault injection's
        reports, the OOM killer's victims, printk notes."""
        return [text for kind, text in self.reports if kind in MESSAGE_KINDS]


def check_together(sc: Scenario) -> None:
    """What no schedule can run, rejected before anything runs: an ``exit``
    (exit_group) of a process that has another thread in the block would
    tear the mm down under that thread."""
    for step in sc.steps:
        if isinstance(step, Together):
            procs = [line.proc for line in step.lines]
            for line in step.lines:
                if line.op == "exit" and procs.count(line.proc) > 1:
                    raise ScenarioError(sc.path, line.lineno, "a process with several lines in "
                                        "one together block cannot exit in it; move the exit "
                                        "after 'end'")


class Session:
    """A scenario, the era it runs on, and the facilities that watch it."""

    def __init__(self, sc: Scenario, config: Config = Config()):
        check_together(sc)
        self.sc = sc
        self.config = config
        self.name = sc.path
        variant = config.variant or sc.settings.get("variant")
        self.kernel_class = variant if isinstance(variant, type) else get_variant(variant)
        self.settings = dict(sc.settings)
        if config.fail_nth is not None:
            self.settings["fail_nth"] = config.fail_nth
        # What the checkers found after each step before the first together
        # block: the same in every run (see checks.Checks).
        self.prefix_checks: dict = {}
        for step in sc.steps:
            if isinstance(step, Together):
                break
            self.prefix_checks[step.lineno] = None

    @property
    def variant(self) -> str:
        return self.kernel_class.name

    def boot(self) -> "Machine":
        return Machine(self)

    def run(self) -> ModelRun:
        """A sequential run; a scenario with together blocks needs a strategy."""
        for step in self.sc.steps:
            if isinstance(step, Together):
                raise ScenarioError(self.sc.path, step.lineno, "a together block needs a "
                                    "schedule: run this file with 'anonvma explore'")
        machine = self.boot()
        machine.run()
        return machine.result()


class Machine:
    """One booted kernel running a session's scenario."""

    def __init__(self, session: Session):
        self.session = session
        settings = session.settings
        kernel = session.kernel_class(**{key: settings[key] for key in ("memory", "swap")
                                         if key in settings})
        self.kernel = kernel
        kernel.sched_dynamic_update(settings.get("preempt", "none"))
        self.reports: list[tuple[str, str]] = []
        kernel.trace.report.register(self._report)
        if session.config.lockdep and settings.get("lockdep", True):
            lockdep_for(session.kernel_class)(kernel)
        make_it_fail = settings.get("make_it_fail", ())
        # 'set make_it_fail LINE': the line's process sets it around that line
        self.make_it_fail_line = make_it_fail if isinstance(make_it_fail, int) else None
        self.runner = SessionRunner(kernel, () if self.make_it_fail_line else make_it_fail)
        setup_fault_injection(kernel, settings)
        self.nth_line, nth = settings.get("fail_nth", (None, 0))
        if self.nth_line is None and nth:
            self.runner.procs["P0"].task.fail_nth = nth
        self.fail_nth_left = None
        self.trace_lines = TraceLines(kernel) if session.config.trace else None
        self.checks = attach_checks(kernel, session.prefix_checks,
                                    scoped=session.config.checks == "scoped") \
            if session.config.checks else None
        self.final_vmas: dict[str, list[str]] = {}
        self.steps_done = 0             # how many of the scenario's steps have run

    def _report(self, kind: str, text: str) -> None:
        self.reports.append((kind, text))

    def run(self) -> None:
        """Every step, then the final exits.  Together blocks run under
        whichever scheduler is installed (``kernel.sched``): the explorer
        installs its own before calling this."""
        kernel = self.kernel
        trace = kernel.trace
        try:
            self.run_steps()
            self.final_vmas = {proc.name: self.runner.maps(proc)
                               for proc in self.runner.order if not proc.dead}
            self.runner.exit_all()
            tp = trace.scenario_end
            if tp.probes:
                tp()
        except (KernelBug, HungTask):
            pass                # reported on the bus as it happened; the run ends here
        finally:
            kernel.sched.shutdown()

    def run_steps(self, until: int | None = None) -> None:
        """The steps (up to and with the one on line ``until``), each
        announced to the checkers when it is done."""
        tp = self.kernel.trace.scenario_step
        steps = self.session.sc.steps
        # A machine restored after the prefix (explore.prefix) goes on from there.
        while self.steps_done < len(steps):
            step = steps[self.steps_done]
            if until is not None and step.lineno > until:
                break
            self.run_step(step)
            self.steps_done += 1
            if tp.probes:
                tp(step)

    def run_step(self, step) -> None:
        runner = self.runner
        if isinstance(step, Together):
            runner.run_together(step)
            return
        nth = step.lineno == self.nth_line
        fail = step.lineno == self.make_it_fail_line
        proc = runner.procs.get(step.proc) if nth or fail else None
        if proc is None or proc.dead:
            runner.run_line(step)
            return
        # syzkaller's way: write N to /proc/self/fail-nth (and 1 to
        # /proc/self/make-it-fail), make the call, read fail-nth back, write 0.
        task = proc.task
        if nth:
            task.fail_nth = self.session.settings["fail_nth"][1]
        task.make_it_fail = task.make_it_fail or fail
        runner.run_line(step)
        if fail:
            task.make_it_fail = False
        if nth:
            self.fail_nth_left, task.fail_nth = task.fail_nth, 0

    def result(self) -> ModelRun:
        sink = self.trace_lines
        lines, events, others = (sink.lines, sink.events, sink.others) if sink else ([], [], [])
        return ModelRun(self.session.variant, list(lines), events, others,
                        list(self.reports), self.final_vmas,
                        {c.name: (c.nr_allocated, c.nr_freed) for c in self.kernel.slab_caches},
                        self.fail_nth_left)


def setup_fault_injection(kernel, settings: dict) -> None:
    """Install failslab as the scenario's fault-injection settings configure
    it (docs/fault-injection.md); without any, the kernel has none and pays
    nothing for it."""
    if not any(key.startswith("failslab.") or key in ("fail_nth", "make_it_fail")
               for key in settings):
        return
    fs = failslab(settings.get("failslab.seed", 0))
    attr = fs.attr
    attr.probability = settings.get("failslab.probability", attr.probability)
    attr.interval = settings.get("failslab.interval", attr.interval)
    attr.times = settings.get("failslab.times", attr.times)
    attr.space = settings.get("failslab.space", attr.space)
    attr.verbose = settings.get("failslab.verbose", attr.verbose)
    attr.task_filter = settings.get("failslab.task_filter", attr.task_filter)
    fs.ignore_gfp_reclaim = settings.get("failslab.ignore_gfp_wait", fs.ignore_gfp_reclaim)
    caches = settings.get("failslab.cache")
    if caches:
        fs.cache_filter = True
        for s in kernel.slab_caches:
            if s.name in caches:
                s.flags |= SLAB_FAILSLAB
    kernel.failslab = fs


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


class SessionRunner(Runner):
    """The scenario runner, with ``together`` blocks run by ``kernel.sched``:
    the first line of a process in a block runs as that process's task, a
    further line of the same process as a new thread of it (a task sharing
    its mm), which is gone after the block."""

    def __init__(self, kernel, make_it_fail=()):
        super().__init__(kernel, make_it_fail)
        self.procs = _Procs(self.procs, kernel)
        self.group_exits: list = []

    def run_together(self, block: Together) -> None:
        k = self.kernel
        sched = k.sched
        started: set[str] = set()
        for line in block.lines:
            proc = self.procs.get(line.proc)
            if proc is None or proc.dead:
                # run_line answers ESRCH without touching the task.
                task = task_struct(k.alloc_pid(), line.proc)
            elif line.proc not in started:
                started.add(line.proc)
                task = proc.task
            else:
                # A thread of the process (pthread_create()'s clone): it
                # holds a reference on the mm, so the process exiting
                # meanwhile leaves the mm to the thread's exit, as in the
                # kernel.
                k.current = proc.task
                task = k.kernel_clone(proc.task.comm, CLONE_PTHREAD)
                self.procs.threads[task] = type(proc)(line.proc, task)
                sched.spawn(task, self._thread, line)
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

    def _thread(self, line: Line) -> None:
        self.run_line(line)
        self.kernel.do_exit()       # pthread_exit(): this thread only

    def do_exit(self, proc) -> None:
        threads = self.procs.threads
        if proc.task in threads:
            # A thread killed by a signal: exit_group() kills the process,
            # whose other tasks die on their way back to user space, that is
            # when the block's lines have returned.
            proc.dead = True
            self.group_exits.append(dict.get(self.procs, proc.name))
            return
        if any(thread.name == proc.name and thread.task.mm is not None
               for thread in threads.values()):
            # The same for the process's main task while threads of it run
            # in the block.
            self.group_exits.append(proc)
            return
        super().do_exit(proc)
