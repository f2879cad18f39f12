"""Error paths: every slab allocation of every scenario fails, one at a time.

The way syzkaller does it: before a scenario line, its process writes N to
/proc/self/fail-nth; the N-th slab allocation of that line fails; after the
line it reads fail-nth back (0: the failure was injected) and writes 0.  N
runs from 1 until a line completes without an injected failure.  Every run
must keep every invariant after every line, free everything at the end,
raise no KernelBug, and show user space what the kernel would.
"""

from __future__ import annotations

import glob
import os

import pytest

from anonvma.checks.invariants import check_all_freed, check_invariants
from anonvma.kernel import Linux
from anonvma.kernel.include.gfp import GFP_NOWAIT
from anonvma.model import setup_fault_injection
from anonvma.scenario import Line, Runner, parse_file
from anonvma.trace import TraceLines, kernel_stack

HERE = os.path.dirname(__file__)
SCENARIOS = sorted(glob.glob(os.path.join(HERE, "..", "..", "scenarios", "*", "*.scn")))

# What user space sees when the kernel runs out of memory in each op.
EXPECTED = {
    "fork": "ENOMEM", "mmap": "ENOMEM", "munmap": "ENOMEM", "mprotect": "ENOMEM",
    "mremap": "ENOMEM",
    # madvise_update_vma(): "madvise() returns EAGAIN if kernel resources,
    # such as slab, are temporarily unavailable"
    "madvise": "EAGAIN",
    # VM_FAULT_OOM -> pagefault_out_of_memory(): the model's OOM killer
    # picks the faulting task (see docs/fault-injection.md)
    "write": "SIGKILL", "read": "SIGKILL",
}
# Failures the kernel absorbs, by the function that made the allocation or
# that swallows the error: (function on the failing stack, why).
ABSORBED = (
    # anon_vma_clone() retries a failed GFP_NOWAIT allocation with GFP_KERNEL
    ("anon_vma_clone", "nowait"),
    # move_vma(): "OOM: unable to split vma, just get accounts right" and the
    # source stays mapped
    ("unmap_source_vma", "any"),
    # __mmap_region(): a merge that fails falls back to a new VMA
    ("vma_merge_new_range", "any"),
)


class Run:
    """One scenario run with fault injection, checked after every line."""

    def __init__(self, sc, lineno, nth, ignore_gfp_wait, then_fail=0):
        self.kernel = k = Linux()
        settings = dict(sc.settings, fail_nth=(lineno, nth),
                        **{"failslab.ignore_gfp_wait": ignore_gfp_wait, "failslab.verbose": 0})
        if then_fail:
            # After fail-nth has fired, failslab's own knobs fail the next
            # allocations of the line too (the task filter keeps them to the
            # line): this reaches the GFP_KERNEL retry of a failed NOWAIT.
            # The fail-nth failure itself uses up one of the times.
            settings.update({"failslab.probability": 100, "failslab.times": 1 + then_fail,
                             "failslab.task_filter": True})
        setup_fault_injection(k, settings)
        self.failed = []            # (cache, gfp, stack) of each failed allocation
        self.line_errors = []       # what the armed line's process saw
        self.problems = []
        armed = False
        k.trace.kmem_cache_alloc.register(self._alloc)
        k.trace.user_error.register(lambda proc, op, err: armed and self.line_errors.append(err))
        k.trace.report.register(lambda kind, text: self.problems.append(text))
        self.sink = TraceLines(k)
        runner = Runner(k)
        self.left = None
        for step in sc.steps:
            proc = runner.procs.get(step.proc)
            armed = step.lineno == lineno and proc is not None and not proc.dead
            if armed:
                proc.task.fail_nth, proc.task.make_it_fail = nth, True
            runner.run_step(sc, step)
            if armed:
                self.left, proc.task.fail_nth = proc.task.fail_nth, 0
                proc.task.make_it_fail = armed = False
            self.problems += [f"line {step.lineno} ({step}): {bad}" for bad in check_invariants(k)]
        runner.exit_all()
        self.problems += check_all_freed(k)

    def _alloc(self, call_site, obj, cache, gfp):
        if obj is None:
            self.failed.append((cache.name, gfp, kernel_stack(2)))

    def absorbed(self) -> bool:
        """Whether the kernel swallows every failure of this run."""
        return all(any(fn in stack and (how == "any" or gfp == GFP_NOWAIT)
                       for fn, how in ABSORBED)
                   for cache, gfp, stack in self.failed)


def sweep(path, ignore_gfp_wait, then_fail=0):
    """Every (line, N) of one scenario; returns the number of runs."""
    sc = parse_file(path)
    runs = 0
    for step in sc.steps:
        if not isinstance(step, Line):
            continue
        nth = 1
        while True:
            run = Run(sc, step.lineno, nth, ignore_gfp_wait, then_fail)
            runs += 1
            where = f"{os.path.basename(path)} line {step.lineno} ({step}) fail-nth {nth}"
            assert not run.problems, f"{where}: {run.problems}"
            if run.left != 0:
                break       # the line made fewer than nth eligible allocations
            assert run.failed, f"{where}: fail-nth fired but no allocation failed"
            want = EXPECTED[step.op]
            if want not in run.line_errors:
                assert run.absorbed(), (f"{where}: {run.failed[0][:2]} failed in "
                                        f"{run.failed[0][2][:6]}; user space saw "
                                        f"{run.line_errors or 'nothing'}, not {want}")
            nth += 1
    return runs


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: os.path.relpath(p, os.path.join(HERE, "..", "..", "scenarios")))
@pytest.mark.parametrize("ignore_gfp_wait", [False, True], ids=["all", "nowait-only"])
def test_every_allocation_fails_cleanly(path, ignore_gfp_wait):
    assert sweep(path, ignore_gfp_wait) > 0


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: os.path.relpath(p, os.path.join(HERE, "..", "..", "scenarios")))
def test_every_allocation_and_the_next_fail_cleanly(path):
    """The N-th and the (N+1)-th fail: reaches anon_vma_clone's GFP_KERNEL
    retry failing after its GFP_NOWAIT try did."""
    assert sweep(path, False, then_fail=1) > 0
