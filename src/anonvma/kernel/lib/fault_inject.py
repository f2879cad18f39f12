"""lib/fault-inject.c: the fault-injection core that failslab is built on.

``fault_attr`` holds the knobs of Documentation/fault-injection/
fault-injection.rst, with the kernel's defaults (FAULT_ATTR_INITIALIZER):
probability 0, interval 1, times 1, space 0, verbose 2.  ``should_fail_ex``
is the kernel's decision, step for step: the calling task's ``fail_nth``
first (it overrides every other knob but the stack filter), then
probability, task filter, times, space, interval and the random draw.

Departures from C: the random numbers come from a seeded ``random.Random``
owned by the attribute, so a run is a function of its seed; the stack-trace
filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER) is not modelled; reports
are not rate-limited (the kernel's ratelimit_state is disabled by default
too); the model has no interrupt context, so ``in_task()`` always holds.
"""

from __future__ import annotations

import random

from ...trace import kernel_stack

FAULT_NOWARN = 1 << 0


class fault_attr:
    __slots__ = ("probability", "interval", "times", "space", "verbose", "task_filter",
                 "count", "dname", "rnd")

    def __init__(self, dname: str, seed: int = 0):
        self.probability = 0        # percent of calls that fail
        self.interval = 1           # only every interval-th eligible call may fail
        self.times = 1              # failures left; -1: no limit
        self.space = 0              # bytes of calls that pass before any may fail
        self.verbose = 2            # 0: quiet, 1: one line per failure, 2: and the stack
        self.task_filter = False    # only tasks with make_it_fail set may fail
        self.count = 0              # eligible calls seen, for interval
        self.dname = dname          # the debugfs directory: failslab, fail_page_alloc
        self.rnd = random.Random(seed)


def fail_dump(kernel, attr: fault_attr) -> None:
    """Report a forced failure through the bus, as the kernel prints it."""
    if attr.verbose > 0:
        text = (f"FAULT_INJECTION: forcing a failure.\n"
                f"name {attr.dname}, interval {attr.interval}, probability {attr.probability}, "
                f"space {attr.space}, times {attr.times}")
        if attr.verbose > 1:
            # dump_stack(): the model's function names, innermost first,
            # from should_fail_ex (skipping _fail, the C function's label).
            text += "\nCall Trace:\n" + "\n".join(f" {name}" for name in kernel_stack(3))
        kernel.trace.report("fault_injection", text)


def fail_task(attr: fault_attr, task) -> bool:
    return task.make_it_fail


def should_fail_ex(kernel, attr: fault_attr, size: int, flags: int) -> bool:
    current = kernel.current
    fail_nth = current.fail_nth
    if fail_nth:
        # /proc/<pid>/fail-nth: count this task's calls down, fail the last
        # one, whatever the other knobs say; reading fail-nth back gives 0
        # exactly when the failure was injected.
        fail_nth -= 1
        current.fail_nth = fail_nth
        if not fail_nth:
            return _fail(kernel, attr, flags)
        return False

    # No need to check any other properties if the probability is 0
    if attr.probability == 0:
        return False
    if attr.task_filter and not fail_task(attr, current):
        return False
    if attr.times == 0:
        return False
    if attr.space > size:
        attr.space -= size
        return False
    if attr.interval > 1:
        attr.count += 1
        if attr.count % attr.interval:
            return False
    # fault_prandom_u32_below_100()
    if attr.probability <= attr.rnd.randrange(100):
        return False
    return _fail(kernel, attr, flags)


def _fail(kernel, attr: fault_attr, flags: int) -> bool:
    if not flags & FAULT_NOWARN:
        fail_dump(kernel, attr)
    # atomic_dec_not_zero(): a fail-nth failure with times at 0 leaves it 0
    if attr.times != -1 and attr.times != 0:
        attr.times -= 1
    return True
