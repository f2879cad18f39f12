"""The growth detector for B6 (unbounded anon_vma hierarchy growth, 3.0 -
3.18): a bound on the anon_vmas a kernel keeps for the VMAs it has.

7a3ef208e662 ("mm: prevent endless growth of anon_vma hierarchy") reuses
an anon_vma with no VMA and at most one child at fork, so a chain stays
about as long as the processes sharing its tree are many.  Before it, a
fork loop whose parents exit (Daniel Forrest's report) leaves one anon_vma
per generation on the survivor's chain: the chain grows with the iterations
while one process lives.

    G-1  no VMA's chain is longer than 2 x (most mms live at once) + SLACK

The bound is on the mms live when a chain was built, not on those live
now.  A chain grows only in anon_vma_fork(), and from 3.19 only when no
anon_vma on the parent's chain passes anon_vma_clone()'s reuse test
(``num_active_vmas == 0 && num_children < 2``, ``degree < 2`` before 6.0):
each one is still used by a live VMA or is the parent of two chained
anon_vmas, so the chain is as long as what lives at that fork makes it.
Nothing shortens it afterwards while its VMA lives: an exit's
unlink_anon_vmas() walks the exiting VMA's own chain, and the anon_vmas on
a survivor's chain keep the survivor's avc in their interval tree, so they
stay (reusable now, but a fork of the survivor copies the whole chain to
the child).  A fork chain P0 -> P1 -> ... -> P8 whose eight ancestors then
exit leaves P8 a chain of 9 anon_vmas with one mm live, on every era: a
legitimate chain past 2 x (live mms) + SLACK.  The most mms live at once
is at least the mms of any fork that built a chain, so the bound holds with
it on 3.19 and after, and a growing hierarchy still passes it (the fork
loop keeps two mms live at most while its chain grows by one a generation).

The factor 2 and SLACK are measured, not derived: one mm may keep more
than one anon_vma of a chain busy (a split VMA's pieces reuse one
ancestor each at fork, the rest get new anon_vmas), and SLACK covers the
anon_vmas the fix leaves until the next fork reuses them (the longest
chain over 10^4 generated programs on 4.0 - 7.0 stays within 2 x mms + 3);
a growing hierarchy passes any constant.

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


def live_mms(kernel) -> int:
    return len({id(tsk.mm) for tsk in kernel.tasks if tsk.mm is not None})


SLACK = 4


def check_growth(kernel, most_mms: int = 0, mms: int | None = None) -> list[str]:
    """G-1, with ``most_mms`` the most mms live at once so far (the live
    ones if more); ``mms``: the live ones, if the caller counted them."""
    anon_vmas, vmas, longest = growth_metric(kernel)
    if mms is None:
        mms = live_mms(kernel)
    most = max(most_mms, mms)
    if longest > 2 * most + SLACK:
        return [f"G-1: a chain of {longest} anon_vmas for {mms} live mms, at most {most} "
                f"at once (bound 2 x {most} + {SLACK}; {anon_vmas} anon_vmas for {vmas} VMAs)"]
    return []


class Growth:
    """G-1 after every step, reported as ``growth``."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.most_mms = 0
        kernel.trace.scenario_step.register(self.after_step)

    def after_step(self, step) -> None:
        mms = live_mms(self.kernel)
        self.most_mms = max(self.most_mms, mms)
        problems = check_growth(self.kernel, self.most_mms, mms)
        if problems:
            self.kernel.trace.report("growth", f"after line {step.lineno} ({step}):\n"
                                     + "".join(f"  {p}\n" for p in problems))
