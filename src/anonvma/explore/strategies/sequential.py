"""The sequential strategy: never preempt.

The current task runs until it blocks or finishes; then the first runnable
task in spawn order.  One execution, no randomness: the schedule a test
expects when it wants "what happens without interleaving", and the default
that ``Replay`` falls back to past the end of a recorded schedule.
"""

from __future__ import annotations


def non_preemptive(runnable, current):
    """The current task if it can go on, else the oldest runnable one."""
    if current is not None and current in runnable:
        return current
    return runnable[0]


class Sequential:
    name = "sequential"

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._done = False

    def new_execution(self) -> bool:
        if self._done:
            return False
        self._done = True
        return True

    def next_task(self, runnable, current, is_yielding):
        if is_yielding and len(runnable) > 1 and current in runnable:
            i = runnable.index(current)
            return runnable[(i + 1) % len(runnable)]
        return non_preemptive(runnable, current)

    def choose(self, n: int) -> int:
        return 0

    def describe(self) -> dict:
        return {"strategy": self.name}
