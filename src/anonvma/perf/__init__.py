"""The performance model: the kernel model's own code (the era's
anon_vma_clone, unlink_anon_vmas, locks and allocator) run in virtual time
on N simulated CPUs, so that a locking change answers "faster or slower"
as well as "correct or not" (docs/performance.md).

    result = run_workload("exim", "v3.0", cpus=40, costs=load_costs())

``sched.py`` is the virtual-time scheduler, ``costs.py`` the cost model,
``locks.py`` the anon_vma lock's timing per era, ``workloads.py`` the
programs, ``report.py`` what comes out of a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..scenario import parse
from ..session import Config, Session
from .costs import CostModel, load_costs
from .locks import LockTiming, lock_semantics, lock_stat
from .sched import PREEMPT_MODELS, VirtualTimeScheduler
from .workloads import WORKLOADS, Program, spawn_pressure

__all__ = ["PerfRun", "run_workload", "load_costs", "WORKLOADS", "PREEMPT_MODELS"]


@dataclass
class PerfRun:
    workload: str
    variant: str
    cpus: int
    seed: int
    units: int
    makespan_ns: float
    cpu_time: dict                      # symbol -> ns
    busy_ns: float                      # CPU time of all CPUs
    stat: lock_stat
    semantics: str
    preempt: str = "voluntary"
    slices: list = field(default_factory=list)
    timeline: list = field(default_factory=list)
    reclaims: int = 0                   # direct reclaims entered
    reclaims_locked: int = 0            # ... by a task holding an anon_vma root lock

    @property
    def throughput(self) -> float:
        """Units per second of virtual time."""
        return self.units / self.makespan_ns * 1e9

    def share(self, symbol: str) -> float:
        """``symbol``'s share of all CPU time (busy and idle), as perf's
        system-wide profile counts it."""
        return self.cpu_time.get(symbol, 0.0) / (self.makespan_ns * self.cpus)


def rcu_callbacks_in_kthreads(kernel_class: type) -> bool:
    """a26ac2455ffc "rcu: move TREE_RCU from softirq to kthread" (3.0-rc1)
    ran RCU callbacks in a SCHED_FIFO kthread per CPU until 3.0 ran them in
    softirq again: the 3.0-rc mutex kernels (3.0-rc2's class and those over
    it), not 3.0's, and not 2.6.39's, a step back from 3.0-rc2."""
    from ..variants import Linux_3_0, Linux_3_0_rc2
    return (issubclass(kernel_class, Linux_3_0_rc2) and not issubclass(kernel_class, Linux_3_0)
            and kernel_class.anon_vma_lock == "mutex")


def run_workload(name: str, variant: str, cpus: int, costs: dict | None = None,
                 seed: int = 0, pressure: bool = False, timeline: bool = False,
                 trace: bool = False, preempt: str = "voluntary") -> PerfRun:
    costs = costs or load_costs()
    workload = WORKLOADS[name]
    params = costs["workloads"][name]
    text = workload.setup(cpus, params, costs["pressure"] if pressure else None)
    session = Session(parse(text, f"<perf {name}>"), Config(variant=variant, lockdep=False,
                                                             checks=False))
    machine = session.boot()
    machine.run_steps()
    kernel = machine.kernel
    nr_cpus = workload.machine_cpus(cpus)
    sched = VirtualTimeScheduler(kernel, costs, nr_cpus, seed, preempt,
                                 rcu_callbacks_in_kthreads(session.kernel_class))
    sched.record_timeline = timeline
    semantics = lock_semantics(session.kernel_class)
    timing = LockTiming(kernel, sched, semantics)
    cost = CostModel(kernel, sched, costs, timing)
    kernel.sched = sched
    prog = Program(machine.runner, sched)
    workload.spawn(prog, cpus, params)
    # every worker, a child of each, the writer and kswapd under pressure
    sched.reserve(2 * len(prog.workers) + 2)
    if pressure:
        spawn_pressure(prog, costs["pressure"])
    sched.run()
    sched.shutdown()                    # kswapd, woken under pressure, waits still
    makespan = max(sched.hub_clock, 1.0)
    return PerfRun(name, session.variant, nr_cpus, seed, workload.units(cpus, params), makespan,
                   dict(sched.cpu_time), sum(sched.cpu_time.values()), timing.stat, semantics,
                   preempt, timing.slices + cost.slices if trace else [], sched.timeline,
                   cost.reclaims, cost.reclaims_locked)
