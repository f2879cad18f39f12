"""Running a scenario on the model: the kernel, the runner, the sinks and
the checks, put together once for every command and test that needs them."""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks.invariants import check_all_freed, check_invariants
from .kernel.include.bug import KernelBug
from .kernel.kernel.locking.lockdep import FS_RECLAIM, Lockdep
from .kernel.mm.failslab import failslab
from .kernel.mm.slub import SLAB_FAILSLAB
from .kernel.kernel.sched.core import HungTask
from .scenario import Runner, Scenario
from .trace import TraceLines
from .variants import get_variant


# report kinds that tell what happened rather than that something is wrong
MESSAGE_KINDS = ("fault_injection", "oom", "printk")


@dataclass
class ModelRun:
    variant: str
    events: list[str]
    others: list[str]
    problems: list[str] = field(default_factory=list)
    final_vmas: dict[str, list[str]] = field(default_factory=dict)
    caches: dict[str, tuple[int, int]] = field(default_factory=dict)   # name -> (allocated, freed)
    # what the kernel printed that is not a problem: fault injection's
    # reports, the OOM killer's victims, printk notes
    messages: list[str] = field(default_factory=list)
    # With 'set fail_nth LINE:N': what that line's process read back from
    # /proc/self/fail-nth after the line, 0 iff the failure was injected.
    fail_nth_left: int | None = None

    @property
    def lines(self) -> list[str]:
        return self.events + self.others


def make_kernel(sc: Scenario, variant: str | None = None, lockdep: bool = False):
    """A booted kernel of the era the scenario (or ``variant``) asks for,
    with the memory, swap and fault injection its ``set`` lines give, and
    lockdep attached (in its era's mode) if asked and not ``set lockdep off``."""
    cls = get_variant(variant or sc.settings.get("variant"))
    kwargs = {key: sc.settings[key] for key in ("memory", "swap") if key in sc.settings}
    kernel = cls(**kwargs)
    setup_fault_injection(kernel, sc.settings)
    if lockdep and sc.settings.get("lockdep", True):
        # An era's class says which lockdep it had ("reclaim_fs" before 4.14).
        kernel.lockdep = Lockdep(kernel, getattr(kernel, "lockdep_mode", FS_RECLAIM))
    return kernel


def run_model(sc: Scenario, variant: str | None = None, checks: bool = False) -> ModelRun:
    """Run ``sc`` on the chosen era; with ``checks``, every invariant after
    every line and a leak check at the end."""
    kernel = make_kernel(sc, variant, lockdep=checks)
    runner = Runner(kernel, sc.settings.get("make_it_fail", ()))
    sink = TraceLines(kernel)
    problems: list[str] = []
    messages: list[str] = []

    def report(kind, text):
        (messages if kind in MESSAGE_KINDS else problems).append(text)
    kernel.trace.report.register(report)
    nth_line, nth = sc.settings.get("fail_nth", (None, 0))
    if nth_line is None:
        runner.procs["P0"].task.fail_nth = nth
    fail_nth_left = None

    def after_line(line):
        if line is None:
            return
        for bad in check_invariants(kernel):
            problems.append(f"line {line.lineno} ({line}): {bad}")

    final_vmas: dict[str, list[str]] = {}
    try:
        for step in sc.steps:
            proc = runner.procs.get(step.proc) if step.lineno == nth_line else None
            if proc is not None and not proc.dead:
                # syzkaller's way: write N to /proc/self/fail-nth, make the
                # call, read it back, write 0.
                task = proc.task
                task.fail_nth = nth
                runner.run_step(sc, step)
                fail_nth_left, task.fail_nth = task.fail_nth, 0
            else:
                runner.run_step(sc, step)
            if checks:
                after_line(step)
        final_vmas = {proc.name: runner.maps(proc) for proc in runner.order if not proc.dead}
        runner.exit_all()
        if checks:
            problems.extend(check_invariants(kernel))
            problems.extend(check_all_freed(kernel))
    except (KernelBug, HungTask) as e:
        problems.append(getattr(e, "report", None) or f"kernel BUG: {e}")
    caches = {c.name: (c.nr_allocated, c.nr_freed) for c in kernel.slab_caches}
    return ModelRun(kernel.name, sink.events, sink.others, problems, final_vmas, caches,
                    messages, fail_nth_left)


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
