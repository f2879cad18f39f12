"""The growth detector for B6 (unbounded anon_vma hierarchy growth, 3.0 -
3.18): a bound on the anon_vmas a kernel keeps for the VMAs it has.

7a3ef208e662 ("mm: prevent endless growth of anon_vma hierarchy") reuses
an anon_vma with no VMA and at most one child at fork, so a chain stays
about as long as the live processes sharing its tree are many.  Before it, a
fork loop whose parents exit (Daniel Forrest's report) leaves one anon_vma
per generation on the survivor's chain: the chain grows with the iterations
while one process lives.

    G-1  no VMA's chain is longer than 2 x live mms + SLACK

SLACK covers the anon_vmas the fix leaves until the next fork reuses them
(the longest chain over 10^4 generated programs on 4.0 - 7.0 stays within
2 x mms + 3); a growing hierarchy passes any constant.

Like the invariants, a subscriber to ``scenario_step`` that reads the
structures only; ``growth_metric`` is the measurement the zoo plots.
"""

from __future__ import annotations

from .common import live_vmas


def growth_metric(kernel) -> tuple[int, int, int]:
    """(live anon_vmas, VMAs with an anon_vma, longest chain of a VMA)."""
    vmas = [vma for _tsk, vma in live_vmas(kernel) if vma.anon_vma is not None]
    longest = max((len(vma.anon_vma_chain) for vma in vmas), default=0)
    return len(kernel.anon_vma_cachep.live), len(vmas), longest


SLACK = 4


def check_growth(kernel) -> list[str]:
    anon_vmas, vmas, longest = growth_metric(kernel)
    mms = len({id(tsk.mm) for tsk in kernel.tasks if tsk.mm is not None})
    if longest > 2 * mms + SLACK:
        return [f"G-1: a chain of {longest} anon_vmas for {mms} live mms "
                f"(bound 2 x mms + {SLACK}; {anon_vmas} anon_vmas for {vmas} VMAs)"]
    return []


class Growth:
    """G-1 after every step, reported as ``growth``."""

    def __init__(self, kernel):
        self.kernel = kernel
        kernel.trace.scenario_step.register(self.after_step)

    def after_step(self, step) -> None:
        problems = check_growth(self.kernel)
        if problems:
            self.kernel.trace.report("growth", f"after line {step.lineno} ({step}):\n"
                                     + "".join(f"  {p}\n" for p in problems))
