"""Noise at synchronization points: PCT's priorities, and a task that meets
a held lock or gives way is sometimes delayed behind every other task.

A race between a check and a use (a pointer read, then a lock taken on
what it pointed to) needs the checking task stopped inside its window long
enough for others to change what it checked.  Where a task waits for a
lock, or gives way in a retry loop or at a preemption point, is where such
windows are; a scheduler that only occasionally stops a task there, and
then lets everything else run to its end before the task goes on, opens
them wide.  That is ConTest's noise-making at synchronization points
(Edelstein, Farchi, Nir, Ratsaby, Ur, "Multithreaded Java program test
generation", IBM Systems Journal 41(1), 2002), with the delays of
delay-bounded scheduling (Emmi, Qadeer, Rakamarić, "Delay-bounded
scheduling", POPL 2011): a deterministic scheduler, here PCT's fixed
priority order, deviated from at a few points, here each synchronization
event with probability ``noise``.

The scheduler sees two such events: a task that yields (``yield_()``: a
spin-retry loop, or ``preempt_schedule_irq()`` under ``set preempt full``),
and a task that blocks on a held lock (``wait_for`` on a lock, which makes
it the current task of a decision it is not runnable at).  At each, with
probability ``noise`` drawn from the run's generator, the task goes to the
lowest priority: the holder and every other runnable task run ahead of it,
to their end or until they block, before it goes on.  Otherwise it keeps
its priority, so a task that yields is not preempted there (PCT lowers a
yielding task every time, which is what lets PCT never leave a task
running past two of its yields while others wait: Pct).  A spin-wait
yielding at the highest priority is delayed at one of its tries (after
1/``noise`` of them on average), so it cannot starve the holder.  Waits on
wait queues (kswapd's, a grace period's) are not locks and not events.

Priorities are PCT's (``Pct``): distinct and random per run, a task seen
late inserted at a random rank, ``depth - 1`` change points (none at the
default depth 1).  Execution *i* seeded with *s* draws from the generator
seeded with (s, i) alone, so any run is re-run from its seed and index,
and its schedule replays with ``Replay``.
"""

from __future__ import annotations

from ...kernel.kernel.hung_task import is_lock
from .pct import Pct

NOISE = 0.25            # the default probability of a delay at each event


class Contend(Pct):
    name = "contend"

    def __init__(self, seed: int = 0, noise: float = NOISE, depth: int | tuple[int, int] = 1,
                 k_hint: int = 20, max_executions: int | None = None):
        if not 0 < noise <= 1:
            raise ValueError("contend's noise is a probability: above 0, at most 1")
        super().__init__(seed=seed, depth=depth, k_hint=k_hint, max_executions=max_executions)
        self.noise = noise

    def _gives_way(self, current, runnable, is_yielding: bool) -> bool:
        if not is_yielding and (current in runnable or not is_lock(current.blocked_on)):
            return False
        return self.rng.random() < self.noise

    def describe(self) -> dict:
        return {**super().describe(), "noise": self.noise}
