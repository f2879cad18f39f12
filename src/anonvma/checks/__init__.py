"""The model's checkers: invariants (its VM_BUG_ONs) and leaks.

Like lockdep, they are subscribers: ``attach_checks(kernel)`` registers them
on the bus, where the session announces every finished step
(``scenario_step``) and the end of the scenario (``scenario_end``), and they
report what they find through ``report("invariant" | "leak", text)``.  They
read the structures only, so attaching them changes nothing a run does.
"""

from __future__ import annotations

from functools import partial

from .invariants import check_all_freed, check_invariants
from .scoped import ScopedInvariants


class Checks:
    """Every invariant after every step and at the end; leaks at the end.

    ``memo`` has an entry (by line number) for each step whose state is the same in every
    run of a session: the steps before its first together block, where no
    schedule decides anything (a run is a function of the scenario, the
    configuration and the schedule).  The problems found after such a step
    are kept there, so an exploration checks that prefix once, and every
    run still reports what was found.

    ``scoped``: after a step, check only what it touched (scoped.py: the
    same reports as the full walk, at a cost that follows the step's).
    """

    def __init__(self, kernel, memo: dict | None = None, scoped: bool = False):
        self.kernel = kernel
        self.memo = memo
        self.check = ScopedInvariants(kernel).check if scoped else partial(check_invariants, kernel)
        trace = kernel.trace
        trace.scenario_step.register(self.after_step)
        trace.scenario_end.register(self.at_end)

    def _report(self, kind: str, where: str, problems: list[str]) -> None:
        if problems:
            self.kernel.trace.report(kind, f"{where}:\n" + "".join(f"  {p}\n" for p in problems))

    def after_step(self, step) -> None:
        memo = self.memo
        key = step.lineno
        problems = memo.get(key) if memo is not None else None
        if problems is None:
            problems = self.check()
            if memo is not None and key in memo:
                memo[key] = problems
        if problems:        # a together block's text is long: made only to be reported
            self._report("invariant", f"after line {step.lineno} ({step})", problems)

    def at_end(self) -> None:
        self._report("invariant", "at the end", check_invariants(self.kernel))
        self._report("leak", "at the end", check_all_freed(self.kernel))


def attach_checks(kernel, memo: dict | None = None, scoped: bool = False) -> Checks:
    return Checks(kernel, memo, scoped)
