"""What a campaign reached.

``Covered(program)`` is a program (``explore.runner.execute``'s sense)
whose every run is watched:

- from the tracepoint bus, in every run: the allocation sites that failed
  (kmem_cache_alloc with no object: fault injection, or GFP_NOWAIT under
  pressure), and after the run the lock-class pairs lockdep recorded (its
  dependency graph, ``lock_class.locks_after``);
- from the profiler (``sys.setprofile``), in the first ``PROFILE_FIRST``
  runs and then one in ``PROFILE_EVERY``: the kernel functions entered; the
  merge cases taken (vma_merge_existing_range / vma_merge_new_range: which
  side merged; is_mergeable_anon_vma: the three cases of its comment); the
  reuse decisions made (anon_vma_fork reusing an anon_vma or allocating
  one; a write fault reusing its page or copying it); the preemption
  points hit (the kernel function at each might_sleep, cond_resched, yield
  and lock wait of the explorer's scheduler).

A profiled run costs about three times an unprofiled one (the profiler
hears every call and return), so runs are sampled: an exploration repeats
one program under other schedules and reaches its functions in its first
runs.  benchmarks/bench_campaign.py measures the cost.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

from .. import kernel as _kernel_pkg
from .. import variants as _variants_pkg
from ..explore import scheduler as _scheduler_mod
from ..kernel.kernel import locking as _locking_pkg
from ..kernel.kernel.sched import core as _sched_core_mod
from ..trace import rmap_cache_kind, rmap_call_site
from ..trace_tokens import kernel_name

PROFILE_FIRST = 8
PROFILE_EVERY = 16

KINDS = {
    "functions": "kernel functions entered",
    "lock_pairs": "lock-class pairs lockdep saw (held -> taken)",
    "alloc_failures": "allocation sites that failed (injection or pressure)",
    "merges": "merge cases taken",
    "reuse": "reuse decisions made",
    "preemption_points": "preemption points hit",
}

_KERNEL_DIRS = tuple(os.path.dirname(m.__file__) + os.sep for m in (_kernel_pkg, _variants_pkg))
_SCHED_FILES = (_scheduler_mod.__file__, _sched_core_mod.__file__)
_LOCKING_DIR = os.path.dirname(_locking_pkg.__file__) + os.sep
PREEMPTION_POINTS = {"might_sleep", "cond_resched", "yield_", "wait_for"}


def _side(left: bool, right: bool) -> str:
    return "both" if left and right else "left" if left else "right" if right else "none"


def _merge_existing(frame, result) -> str:
    f = frame.f_locals
    part = {(True, True): "whole VMA", (True, False): "its start",
            (False, True): "its end", (False, False): "its middle"}[
        (bool(f.get("left_side")), bool(f.get("right_side")))]
    side = _side(bool(f.get("merge_left")), bool(f.get("merge_right")))
    failed = " (failed)" if result is None and side != "none" else ""
    return f"vma_merge_existing_range: {part}, merge {side}{failed}"


def _merge_new(frame, result) -> str:
    f = frame.f_locals
    side = _side(bool(f.get("can_merge_left")), bool(f.get("can_merge_right")))
    return f"vma_merge_new_range: merge {side}"


def _mergeable_anon_vma(frame, result) -> str:
    f = frame.f_locals
    tgt, src = f.get("tgt_anon"), f.get("src_anon")
    case = ("1: dup_anon_vma from src" if tgt is None and src is not None else
            "2: use the target's anon_vma" if tgt is not None and src is None else
            "3: already shared" if tgt is src else "3: different anon_vmas")
    return f"is_mergeable_anon_vma case {case}: {'yes' if result else 'no'}"


def _anon_vma_fork(frame, result) -> str:
    f = frame.f_locals
    vma, pvma = f.get("vma"), f.get("pvma")
    if result:
        return "anon_vma_fork: failed"
    if pvma is None or pvma.anon_vma is None:
        return "anon_vma_fork: nothing to attach"
    reused = getattr(vma.anon_vma, "parent", pvma.anon_vma) is not pvma.anon_vma
    return f"anon_vma_fork: {'reused an anon_vma' if reused else 'new anon_vma'}"


# function name -> (coverage kind, what its return shows)
ON_RETURN = {
    "vma_merge_existing_range": ("merges", _merge_existing),
    "vma_merge_new_range": ("merges", _merge_new),
    "is_mergeable_anon_vma": ("merges", _mergeable_anon_vma),
    "anon_vma_fork": ("reuse", _anon_vma_fork),
}
ON_CALL_REUSE = {"wp_page_reuse": "do_wp_page: reuse the page",
                 "wp_page_copy": "do_wp_page: copy the page"}


def empty() -> dict[str, Counter]:
    return {kind: Counter() for kind in KINDS}


def merge_into(total: dict, part: dict) -> dict:
    """Add ``part`` (Counters or their JSON) into ``total``."""
    for kind in KINDS:
        total.setdefault(kind, Counter()).update(part.get(kind, {}))
    for key in ("runs", "profiled_runs"):
        total[key] = total.get(key, 0) + part.get(key, 0)
    return total


def to_json(cov: dict) -> dict:
    out = {kind: dict(sorted(cov.get(kind, {}).items())) for kind in KINDS}
    out.update(runs=cov.get("runs", 0), profiled_runs=cov.get("profiled_runs", 0))
    return out


class Covered:
    """``program``, with what each of its runs reaches added to ``coverage``."""

    def __init__(self, program, profile: bool = True):
        self.program = program
        self.profile = profile
        self.coverage = empty()
        self.coverage.update(runs=0, profiled_runs=0)
        self._codes: set = set()
        self._kernel = None

    def boot(self):
        self._harvest()
        machine = self.program.boot()
        kernel = self._kernel = machine.kernel
        kernel.trace.kmem_cache_alloc.register(self._alloc)
        runs = self.coverage["runs"]
        self.coverage["runs"] += 1
        if self.profile and (runs < PROFILE_FIRST or runs % PROFILE_EVERY == 0):
            self.coverage["profiled_runs"] += 1
            sys.setprofile(self._profile)
        return machine

    def finish(self) -> dict:
        """Stop watching; the coverage of every run so far."""
        self._harvest()
        return self.coverage

    def _harvest(self) -> None:
        """The run that ended: stop profiling it, keep its lockdep graph."""
        sys.setprofile(None)
        functions = self.coverage["functions"]
        for code in self._codes:
            # comprehensions and lambdas are part of the function they are in
            if code.co_filename.startswith(_KERNEL_DIRS) and not code.co_name.startswith("<"):
                functions[kernel_name(code.co_name)] += 1
        self._codes = set()
        kernel, self._kernel = self._kernel, None
        if kernel is None:
            return
        lockdep = getattr(kernel, "lockdep", None)
        if lockdep is not None:
            pairs = self.coverage["lock_pairs"]
            for cls in lockdep.classes.values():
                for after in cls.locks_after:
                    pairs[f"{cls.name} -> {after.name}"] += 1

    def _alloc(self, call_site, ptr, cache, gfp) -> None:
        if ptr is not None:
            return
        if rmap_cache_kind(cache) is not None:
            site = rmap_call_site(call_site)
        else:
            site = kernel_name(call_site.f_code.co_name) if call_site is not None else "?"
        self.coverage["alloc_failures"][f"{cache.name}:{site}"] += 1

    def _profile(self, frame, event, arg) -> None:
        if event == "call":
            code = frame.f_code
            self._codes.add(code)
            name = code.co_name
            if name in PREEMPTION_POINTS and code.co_filename in _SCHED_FILES:
                self._preemption_point(frame, name)
            elif name in ON_CALL_REUSE:
                self.coverage["reuse"][ON_CALL_REUSE[name]] += 1
        elif event == "return":
            hook = ON_RETURN.get(frame.f_code.co_name)
            if hook is not None and frame.f_code.co_filename.startswith(_KERNEL_DIRS):
                kind, describe = hook
                self.coverage[kind][describe(frame, arg)] += 1

    def _preemption_point(self, frame, point: str) -> None:
        """The kernel function that reached the scheduler, past the
        scheduler and the lock primitives."""
        f = frame.f_back
        while f is not None and (f.f_code.co_filename in _SCHED_FILES
                                 or f.f_code.co_filename.startswith(_LOCKING_DIR)):
            f = f.f_back
        where = kernel_name(f.f_code.co_name) if f is not None else "?"
        self.coverage["preemption_points"][f"{point.rstrip('_')} in {where}"] += 1
