"""PCT whose change points fall inside critical sections.

A race on a lifetime rule needs a task stopped *inside* the section that
the rule is about (an RCU read section, a lock held) while the others run
to completion beside it; PCT's change points are drawn uniformly among all
the steps of a run, most of them outside any section, so a bug of depth 2
whose one change must fall in a short section is found with probability
about (steps in that section) / (all steps) per run.  Here the change
points are drawn among the *critical* steps only: the scheduling points at
which the running task is in an RCU read section or holds a lock.  This is
the delay-injection idea of race detectors such as KCSAN (stall a task
where it holds shared state) and of Razzer's and Snowboard's choice of
preemption points at memory accesses of shared objects, on PCT's
priorities.  Nothing in it knows a bug.
"""

from __future__ import annotations

from ..explore.strategies import Pct


def critical(task) -> bool:
    """Is ``task`` inside a section a race could stop it in?"""
    return bool(task.rcu_read_lock_nesting or task.held_locks)


class CriticalPct(Pct):
    """``Pct`` whose steps are the critical ones only: its d-1 change points
    are drawn among them (k learned as the most critical steps seen in a
    run, as ``Pct`` learns its k); priorities, new tasks and yields as in
    ``Pct``."""

    name = "critical-pct"

    def __init__(self, seed: int = 0, depth: int = 2, k_hint: int = 8, **kw):
        super().__init__(seed=seed, depth=depth, k_hint=k_hint, **kw)

    def next_task(self, runnable, current, is_yielding):
        prio = self.priorities
        for t in runnable:
            if t.pid not in prio:
                prio.insert(self.rng.randint(0, len(prio)), t.pid)
        change = False
        if current is not None and critical(current):
            self.steps += 1
            change = self.steps in self.change_points
        if current is not None and current.pid in prio and (change or is_yielding):
            self._lower(current.pid)
        return min(runnable, key=lambda t: prio.index(t.pid))
