"""The cost model: what each operation of the kernel model costs in virtual
time, charged through the tracepoint bus.

The parameters are a JSON file: the package's ``costs.json`` (single-CPU
costs calibrated on a live kernel by ``anonvma perf calibrate``, multi-socket
figures from published measurements; docs/performance.md), overridden key by
key by a user's ``--costs FILE``.
"""

from __future__ import annotations

import json
from importlib import resources


class CostsError(Exception):
    """A costs file that cannot be used; the message names the file."""


# The keys whose value is one of a few names, and those names.
CHOICES = {
    # where a new or woken task goes: the 3.0 scheduler's
    # select_task_rq_fair(), or the CPU idle longest (else the shortest run
    # queue), whatever the task last ran on
    "sched.placement": ("select_task_rq_fair", "idle-longest"),
    # which C-state an idle CPU sleeps in (cpuidle.py): the deepest its idle
    # time covered, or the choice of 3.0's menu governor
    "sched.governor": ("oracle", "menu"),
}


def default_costs() -> dict:
    return json.loads(resources.files(__package__).joinpath("costs.json").read_text())


def _merge(base: dict, over: dict, path: str, where) -> None:
    """Put ``over``'s values into ``base``; ``where(key)`` is FILE:LINE of a key."""
    for key, value in over.items():
        if key.startswith("_"):
            continue
        name = f"{path}{key}"
        if key not in base:
            raise CostsError(f"{where(key)}: unknown key '{name}'; known are "
                             + ", ".join(k for k in base if not k.startswith("_")))
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise CostsError(f"{where(key)}: '{name}' must be an object")
            _merge(base[key], value, f"{name}.", where)
        elif isinstance(base[key], list):
            if not isinstance(value, list) or not all(
                    isinstance(pair, list) and len(pair) == 2 and all(
                        isinstance(x, (int, float)) and x >= 0 for x in pair) for pair in value):
                raise CostsError(f"{where(key)}: '{name}' must be a list of "
                                 "[residency_ns, exit_latency_ns] pairs")
            base[key] = value
        elif isinstance(base[key], str):
            if value not in CHOICES[name]:
                raise CostsError(f"{where(key)}: '{name}' must be one of "
                                 f"{', '.join(CHOICES[name])}, not {value!r}")
            base[key] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            base[key] = value
        else:
            raise CostsError(f"{where(key)}: '{name}' must be a number >= 0, not {value!r}")


def load_costs(path: str | None = None) -> dict:
    """The package's costs with ``path``'s values over them."""
    costs = default_costs()
    if path is None:
        return costs
    try:
        with open(path, encoding="utf-8") as f:
            over = json.load(f)
    except OSError as e:
        raise CostsError(f"{path}: cannot read: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise CostsError(f"{path}:{e.lineno}: not JSON: {e.msg}") from None
    if not isinstance(over, dict):
        raise CostsError(f"{path}:1: a costs file is a JSON object")
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()

    def where(key: str) -> str:
        for lineno, line in enumerate(lines, 1):
            if f'"{key}"' in line:
                return f"{path}:{lineno}"
        return path
    _merge(costs, over, "", where)
    return costs


class CostModel:
    """Charges the current task for every event the kernel model fires."""

    def __init__(self, kernel, sched, costs: dict, timing):
        self.kernel = kernel
        self.sched = sched
        self.timing = timing
        c = costs["single_cpu"]
        self.c = c
        trace = kernel.trace
        trace.kmem_cache_alloc.register(self._fixed(c["kmem_cache_alloc_ns"], "kmem_cache_alloc"))
        trace.kmem_cache_free.register(self._fixed(c["kmem_cache_free_ns"], "kmem_cache_free"))
        trace.mm_page_alloc.register(self._fixed(c["page_alloc_ns"], "get_page_from_freelist"))
        trace.mm_page_free.register(self._fixed(c["page_free_ns"], "free_pages"))
        trace.page_fault_user.register(self._fixed(c["page_fault_ns"], "handle_mm_fault"))
        trace.sched_process_fork.register(self._fixed(c["fork_ns"], "copy_process"))
        trace.sched_process_exit.register(self._fixed(c["exit_ns"], "do_exit"))
        trace.exit_mmap.register(self._fixed(c["exit_mmap_ns"], "exit_mmap"))
        trace.mm_vmscan_direct_reclaim_begin.register(self._reclaim_begin)
        trace.mm_vmscan_direct_reclaim_end.register(self._reclaimed)
        self.reclaims = 0
        self.reclaims_locked = 0        # entered holding an anon_vma root lock
        self.slices: list = []          # (cpu, pid, start, end, what) for the trace
        self._reclaim_start: dict = {}

    def _fixed(self, ns: float, symbol: str):
        sched, kernel = self.sched, self.kernel

        def probe(*args):
            task = kernel.current
            if task in sched.cpu_of:
                sched.charge(task, ns, symbol)
                sched.preempt_point()
        return probe

    def _reclaim_begin(self, order, gfp_flags) -> None:
        task = self.kernel.current
        self._reclaim_start[task] = self.sched.clock[task]

    def _reclaimed(self, nr_reclaimed) -> None:
        sched = self.sched
        task = self.kernel.current
        if task in sched.cpu_of:
            self.reclaims += 1
            locked = self.timing.holds_lock(task)
            self.reclaims_locked += locked
            sched.charge(task, self.c["reclaim_base_ns"]
                         + self.c["reclaim_page_ns"] * max(nr_reclaimed, 1),
                         "do_try_to_free_pages")
            self.slices.append((sched.cpu_of[task].cpu, task.pid,
                                self._reclaim_start.pop(task, sched.clock[task]),
                                sched.clock[task],
                                "direct reclaim, anon_vma lock held" if locked else "direct reclaim"))
