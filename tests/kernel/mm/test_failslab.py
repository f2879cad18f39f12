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
from anonvma.session import MESSAGE_KINDS, setup_fault_injection
from anonvma.scenario import Line, Runner, parse_file
from anonvma.trace import TraceLines, kernel_stack

HERE = os.path.dirname(__file__)
SCENARIOS = sorted(glob.glob(os.path.join(HERE, "..", "..", "scenarios", "*", "*.scn")))

# What user space sees when the kernel runs out of memory in each op.
EXPECTED = {
    "fork": "ENOMEM", "mmap": "ENOMEM", "munmap": "ENOMEM", "mprotect": "ENOMEM",
    "mremap": "ENOMEM", "brk": "ENOMEM", "munlock": "ENOMEM", "mseal": "ENOMEM",
    # a failed split is ENOMEM, a failed fault while populating EAGAIN
    "mlock": ("ENOMEM", "EAGAIN"),
    "mbind": "ENOMEM", "anon_name": "EAGAIN",
    # madvise_update_vma(): "madvise() returns EAGAIN if kernel resources,
    # such as slab, are temporarily unavailable"; madvise_guard_install()
    # and madvise_populate() return anon_vma_prepare()'s and the fault's
    # ENOMEM as they are
    "madvise": ("EAGAIN", "ENOMEM"), "process_madvise": ("EAGAIN", "ENOMEM"),
    # uffd_lock_vma()'s anon_vma_prepare() and a registration's split
    "uffd_move": "ENOMEM", "uffd_register": "ENOMEM",
    # bprm_mm_init() fails with ENOMEM; copy_strings() with E2BIG when the
    # new stack's first fault cannot get its anon_vma
    "exec": ("ENOMEM", "E2BIG"),
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
    # pagefault_out_of_memory() (since 5.16): a fault whose allocation
    # failed is taken again, and the retry finds memory
    ("handle_mm_fault", "any"),
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
        k.trace.report.register(
            lambda kind, text: kind in MESSAGE_KINDS or self.problems.append(text))
        self.sink = TraceLines(k)
        runner = Runner(k)
        self.left = None
        for step in sc.steps:
            proc = runner.procs.get(step.proc)
            armed = step.lineno == lineno and proc is not None and not proc.dead
            if armed:
                proc.task.fail_nth, proc.task.make_it_fail = nth, True
            runner.run_line(step)
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
            want = EXPECTED.get(step.op)
            wants = want if isinstance(want, tuple) else (want,)
            if not set(wants).intersection(run.line_errors):
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


# -- the knobs (lib/fault-inject.c) and the settings that set them -----------------------

from anonvma.kernel.include.gfp import GFP_KERNEL  # noqa: E402
from anonvma.kernel.mm.failslab import failslab  # noqa: E402
from anonvma.kernel.mm.slub import SLAB_FAILSLAB  # noqa: E402
from anonvma.session import Config, Session  # noqa: E402
from anonvma.scenario import ScenarioError, parse  # noqa: E402


def outcomes(fs, k, cache, n, gfp=GFP_NOWAIT):
    return [fs.should_fail(k, cache, gfp) for _ in range(n)]


def test_times_interval_probability_and_the_gfp_filter(machine):
    k = machine.kernel
    avc = k.anon_vma_chain_cachep
    fs = failslab(seed=1)
    fs.attr.verbose = 0
    fs.attr.probability, fs.attr.times, fs.attr.interval = 100, 2, 3
    # every third call fails, twice; then times is used up
    assert outcomes(fs, k, avc, 9) == [False, False, True, False, False, True,
                                       False, False, False]
    # ignore-gfp-wait (default Y): a sleeping allocation never fails
    fs.attr.times = -1
    assert not any(outcomes(fs, k, avc, 6, GFP_KERNEL))
    fs.ignore_gfp_reclaim = False
    assert sum(outcomes(fs, k, avc, 6, GFP_KERNEL)) == 2
    # probability 50 with a seed: reproducible, and about half
    draws = []
    for _ in range(2):
        fs = failslab(seed=7)
        fs.attr.probability, fs.attr.times = 50, -1
        draws.append(outcomes(fs, k, avc, 200))
    assert draws[0] == draws[1] and 70 < sum(draws[0]) < 130


def test_fail_nth_counts_only_eligible_allocations_and_uses_up_times(machine):
    k = machine.kernel
    fs = failslab()
    k.current.fail_nth = 2
    avc = k.anon_vma_chain_cachep
    # GFP_KERNEL is filtered out before should_fail_ex: not counted
    assert outcomes(fs, k, avc, 3, GFP_KERNEL) == [False] * 3
    assert outcomes(fs, k, avc, 3) == [False, True, False]
    assert k.current.fail_nth == 0 and fs.attr.times == 0


def test_space_cache_filter_and_task_filter(machine):
    k = machine.kernel
    fs = failslab()
    fs.attr.probability, fs.attr.times, fs.attr.space = 100, -1, 100
    avc, av = k.anon_vma_chain_cachep, k.anon_vma_cachep
    # 100 bytes of budget: one 64-byte object passes, then 36 < 64 fails
    assert outcomes(fs, k, avc, 2) == [False, True]
    fs.cache_filter = True
    av.flags |= SLAB_FAILSLAB
    assert outcomes(fs, k, avc, 1) == [False] and outcomes(fs, k, av, 1) == [True]
    fs.attr.task_filter = True
    assert outcomes(fs, k, av, 1) == [False]
    k.current.make_it_fail = True
    assert outcomes(fs, k, av, 1) == [True]


def test_verbose_reports_with_the_stack_and_nowarn_is_silent():
    text = "set failslab.ignore_gfp_wait N\nset fail_nth 4:1\nP0 mmap 0 4\nP0 write 0\n"
    r = Session(parse(text), Config()).run()
    # the fault is retried (pagefault_out_of_memory) and the retry succeeds
    assert r.fail_nth_left == 0 and r.others == [] and not r.problems
    report, retry = r.messages
    assert retry.startswith("Huh VM_FAULT_OOM leaked out to the #PF handler")
    assert report.startswith("FAULT_INJECTION: forcing a failure.\nname failslab, ")
    stack = report.split("Call Trace:\n")[1].split()
    assert stack[:2] == ["should_fail_ex", "should_failslab"]
    assert stack.index("kmem_cache_alloc") < stack.index("_anon_vma_prepare") \
        < stack.index("handle_mm_fault")
    # the NOWAIT try of anon_vma_clone carries __GFP_NOWARN: no report
    text = "set fail_nth 4:1\nP0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 0\nP1 maps\n"
    r = Session(parse(text), Config()).run()
    assert r.fail_nth_left == 0 and not r.messages and not r.problems
    assert "P0 !AVC:clone/fork" in r.events and "P1 maps 200000000000-200000004000 rw-p" in r.others


def test_make_it_fail_is_inherited_by_fork():
    text = ("set failslab.probability 100\nset failslab.times -1\nset failslab.task_filter Y\n"
            "set failslab.ignore_gfp_wait N\nset make_it_fail P1\n"
            "P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 fork P2\nP0 fork P3\n")
    r = Session(parse(text), Config()).run()
    assert r.others == ["P1 !fork ENOMEM"] and not r.problems


def test_make_it_fail_line_fails_that_line_only():
    """'set make_it_fail LINE': the line's process writes 1 to
    /proc/self/make-it-fail before it and 0 after, so the task filter lets
    failslab fail that line's allocations and no other's."""
    text = ("set failslab.probability 100\nset failslab.times -1\nset failslab.task_filter Y\n"
            "set failslab.ignore_gfp_wait N\nset make_it_fail 9\n"
            "P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP0 fork P2\nP0 fork P3\n")
    r = Session(parse(text), Config()).run()
    assert r.others == ["P0 !fork ENOMEM"] and not r.problems
    # P1's fork came before the failure, P3's after it: both have a child
    failed = r.lines.index("P0 !fork ENOMEM")
    assert any(ln.endswith(":fork") for ln in r.lines[:failed])
    assert any(ln.endswith(":fork") for ln in r.lines[failed:])
    assert any(ln.startswith("P3 -AV") for ln in r.lines)


def test_fail_nth_then_make_it_fail_fails_the_retry_too():
    """fail-nth fails the split's GFP_NOWAIT AVC try; failslab, armed for the
    line by make_it_fail, fails the GFP_KERNEL retry after it (the fail-nth
    failure used up one of the two times): anon_vma_clone() gives up."""
    text = ("set failslab.ignore_gfp_wait N\nset failslab.probability 100\n"
            "set failslab.times 2\nset failslab.task_filter Y\nset failslab.cache anon_vma_chain\n"
            "set fail_nth 10:1\nset make_it_fail 10\n"
            "P0 mmap 0 4\nP0 write 0\nP0 mprotect 0 2 r\nP0 maps\n")
    r = Session(parse(text), Config()).run()
    assert r.events.count("P0 !AVC:clone/split") == 2 and "P0 !mprotect ENOMEM" in r.others
    assert r.fail_nth_left == 0 and not r.problems


@pytest.mark.parametrize("line, message", [
    ("set failslab.probability 101", "bad value '101' for failslab.probability: write a whole number from 0 to 100"),
    ("set failslab.interval 0", "bad value '0' for failslab.interval: write a whole number from 1 to 4294967295"),
    ("set failslab.times -2", "bad value '-2' for failslab.times"),
    ("set failslab.verbose 3", "bad value '3' for failslab.verbose"),
    ("set failslab.ignore_gfp_wait maybe", "write Y or N"),
    ("set failslab.cache anon_vma,dentry", "unknown slab cache 'dentry' for failslab.cache"),
    ("set fail_nth 0", "bad value '0' for fail_nth: write N, or LINE:N"),
    ("set fail_nth x:2", "bad value 'x:2' for fail_nth"),
    ("set fail_nth \u00b2", "bad value '\u00b2' for fail_nth"),
    ("set fail_nth \u00b2:1", "bad value '\u00b2:1' for fail_nth"),
    ("set fail_nth 4294967296", "bad value '4294967296' for fail_nth"),
    ("set failslab.seed 4294967296", "bad value '4294967296' for failslab.seed"),
    ("set failslab.interval +4", "bad value '+4' for failslab.interval"),
    ("set failslab.space 1_0", "bad value '1_0' for failslab.space"),
    ("set failslab.probability \u0663", "bad value '\u0663' for failslab.probability"),
    ("set fail_nth 9:2", "fail_nth 9:...: line 9 is not an operation"),
    ("set make_it_fail P7", "make_it_fail names 'P7', a process this scenario never has"),
    ("set make_it_fail 9", "make_it_fail 9: line 9 is not an operation"),
    ("set failslab.probabilty 5", "unknown setting 'failslab.probabilty'"),
])
def test_bad_settings_name_the_line(line, message):
    with pytest.raises(ScenarioError) as e:
        parse(f"# fault injection\n{line}\nP0 mmap 0 4\nP0 fork P1\n", "f.scn")
    assert str(e.value).startswith("f.scn:2: error: ") and message in str(e.value)
