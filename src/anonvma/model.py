"""Running a scenario on the model: the kernel, the runner, the sinks and
the checks, put together once for every command and test that needs them."""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks.invariants import check_all_freed, check_invariants
from .kernel.include.bug import KernelBug
from .kernel.kernel.sched.core import HungTask
from .scenario import Runner, Scenario
from .trace import TraceLines
from .variants import get_variant


@dataclass
class ModelRun:
    variant: str
    events: list[str]
    others: list[str]
    problems: list[str] = field(default_factory=list)
    final_vmas: dict[str, list[str]] = field(default_factory=dict)
    caches: dict[str, tuple[int, int]] = field(default_factory=dict)   # name -> (allocated, freed)

    @property
    def lines(self) -> list[str]:
        return self.events + self.others


def run_model(sc: Scenario, variant: str | None = None, checks: bool = False) -> ModelRun:
    """Run ``sc`` on the chosen era; with ``checks``, every invariant after
    every line and a leak check at the end."""
    name = variant or sc.settings.get("variant")
    kernel = get_variant(name)()
    runner = Runner(kernel)
    sink = TraceLines(kernel)
    problems: list[str] = []
    kernel.trace.report.register(lambda kind, text: problems.append(text))

    def after_line(line):
        if line is None:
            return
        for bad in check_invariants(kernel):
            problems.append(f"line {line.lineno} ({line}): {bad}")

    final_vmas: dict[str, list[str]] = {}
    try:
        for step in sc.steps:
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
    return ModelRun(kernel.name, sink.events, sink.others, problems, final_vmas, caches)
