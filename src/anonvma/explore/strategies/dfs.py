"""Bounded exhaustive search: every schedule with at most ``max_preemptions``
preemptions, depth first (Shuttle's DfsScheduler with CHESS's preemption
bounding, Musuvathi and Qadeer, PLDI 2007; Loom's LOOM_MAX_PREEMPTIONS:
"a bound of 2-3 catches most bugs").

The search is stateless: each execution replays the decisions on the stack
and extends it; ``new_execution`` backtracks to the deepest decision with an
untried alternative.  At a decision the non-preemptive choice (the current
task, if it can go on) is tried first, then the other runnable tasks in
spawn order; choosing another task while the current one could continue
costs one preemption, and once the budget is spent only the non-preemptive
choice remains.  ``choose(n)`` decisions are enumerated the same way, and
cost nothing.  The search is complete for programs whose runs depend only
on these decisions (the determinism check verifies that).
"""

from __future__ import annotations


class Dfs:
    name = "dfs"

    def __init__(self, seed: int = 0, max_preemptions: int = 2, max_executions: int | None = None):
        self.seed = seed
        self.max_preemptions = max_preemptions
        self.max_executions = max_executions
        # One entry per decision: [options, index of the option taken,
        # preemptions spent before this decision].  Options are pids, or ints
        # for choose().
        self.stack: list[list] = []
        self.depth = 0
        self.executions = 0

    def new_execution(self) -> bool:
        if self.max_executions is not None and self.executions >= self.max_executions:
            return False
        if self.executions:
            del self.stack[self.depth:]     # decisions of a run that ended early
            while self.stack and self.stack[-1][1] + 1 >= len(self.stack[-1][0]):
                self.stack.pop()
            if not self.stack:
                return False
            self.stack[-1][1] += 1
        self.executions += 1
        self.depth = 0
        return True

    def _spent(self) -> int:
        if not self.depth:
            return 0
        options, i, spent, preempting = self.stack[self.depth - 1]
        return spent + (1 if preempting and i > 0 else 0)

    def next_task(self, runnable, current, is_yielding):
        if self.depth < len(self.stack):
            options, i = self.stack[self.depth][:2]
        else:
            spent = self._spent()
            can_continue = current is not None and current in runnable and not is_yielding
            if can_continue:
                options = [current.pid]
                if spent < self.max_preemptions:
                    options += [t.pid for t in runnable if t is not current]
            else:
                options = [t.pid for t in runnable]
            i = 0
            self.stack.append([options, 0, spent, can_continue])
        self.depth += 1
        pid = options[i]
        for t in runnable:
            if t.pid == pid:
                return t
        raise AssertionError(f"dfs: task {pid} not runnable on replay; the program is "
                             "not deterministic in its schedule")

    def choose(self, n: int) -> int:
        if self.depth < len(self.stack):
            c = self.stack[self.depth][0][self.stack[self.depth][1]]
        else:
            self.stack.append([list(range(n)), 0, self._spent(), False])
            c = 0
        self.depth += 1
        return c

    def describe(self) -> dict:
        return {"strategy": self.name, "max_preemptions": self.max_preemptions}
