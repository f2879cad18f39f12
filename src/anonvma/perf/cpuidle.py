"""cpuidle: which C-state an idle CPU sleeps in, and so the exit latency a
task pays when it gets the CPU (costs ``sched.governor``).

``oracle``  the deepest state whose target residency the idle time that
            followed covered: a governor that knows the future.
``menu``    drivers/cpuidle/governors/menu.c as 3.0 has it (the governor of
            the 3.0 kernels; 3.8's is not checked here), choosing at each idle entry from
            what it has seen: ``predicted_us`` is the time to the next timer
            event (``expected_us``) times the correction factor of its bucket
            (the measured / expected ratio of the past, decayed by 1/8 a
            time), or the average of the last 8 idle intervals if their
            variance is below 400 us^2 (``detect_repeating_patterns``); a
            state is taken only if its target residency and its exit latency
            times ``performance_multiplier()`` (1 + 2 * get_loadavg(): 10 per
            task the CPU ran at its last tick) fit into the prediction; POLL
            (state 0) only if the timer is due within 5 us, C1 otherwise at
            least.

The next timer event is the CPU's next tick (``sched.tick_ns``): the idle
tick stays on while the CPU has RCU callbacks (kernel/time/tick-sched.c,
tick_nohz_stop_sched_tick(): rcu_needs_cpu() keeps next_jiffies at
last_jiffies + 1), and every exit queues one (release_task():
call_rcu(&p->rcu, delayed_put_task_struct)).  Each idle tick ends an idle
period: the CPU's load at that tick is 0 (update_cpu_load_active()), the
governor learns from the period and chooses again.  ``tick_ns`` 0: no tick,
the governor's ``expected_us`` is unbounded.
"""

from __future__ import annotations

# menu.c
INTERVALS = 8
RESOLUTION = 1024
DECAY = 8
MAX_INTERESTING = 50000         # us
STDDEV_THRESH = 400             # us^2
BUCKETS = 6                     # by expected_us: < 10, 100, 1000, 10000, 100000, more
FSHIFT = 11                     # include/linux/sched.h: LOAD_INT(), LOAD_FRAC()
NICE_0_LOAD = 1024


def oracle_exit_ns(cstates: list, idle_ns: float) -> float:
    """The exit latency of the deepest state ``idle_ns`` covered."""
    exit_ns = 0
    for residency_ns, latency_ns in cstates:
        if idle_ns >= residency_ns:
            exit_ns = latency_ns
    return exit_ns


def which_bucket(expected_us: float) -> int:
    bucket, limit = 0, 10
    while bucket < BUCKETS - 1 and expected_us >= limit:
        bucket += 1
        limit *= 10
    return bucket


def performance_multiplier(nr_running: int) -> int:
    """1 + 2 * get_loadavg() of cpu_load[0], ``nr_running`` nice-0 tasks at
    the last tick (no iowait in the model)."""
    load = nr_running * NICE_0_LOAD
    load_int = load >> FSHIFT
    load_frac = ((load & ((1 << FSHIFT) - 1)) * 100) >> FSHIFT
    return 1 + 2 * (load_int * 10 + load_frac // 10)


class menu_device:
    """One CPU's menu governor: its idle history and correction factors."""

    __slots__ = ("intervals", "interval_ptr", "correction_factor")

    def __init__(self):
        self.intervals = [0.0] * INTERVALS
        self.interval_ptr = 0
        self.correction_factor = [RESOLUTION * DECAY] * BUCKETS

    def detect_repeating_patterns(self, expected_us: float, predicted_us: float) -> float:
        avg = sum(self.intervals) / INTERVALS
        if avg > expected_us:
            return predicted_us         # beyond the known next tick: worthless
        stddev = sum((i - avg) ** 2 for i in self.intervals) / INTERVALS
        if avg and stddev < STDDEV_THRESH:
            return avg
        return predicted_us

    def select(self, cstates: list, expected_us: float, nr_running: int) -> tuple:
        """menu_select(): the state's index (0 POLL, then ``cstates``), the
        exit latency the governor counts (``data->exit_us``: 0 for the C1 it
        falls back to) and the bucket it learns into."""
        bucket = which_bucket(expected_us)
        multiplier = performance_multiplier(nr_running)
        predicted_us = expected_us * self.correction_factor[bucket] / (RESOLUTION * DECAY)
        predicted_us = self.detect_repeating_patterns(expected_us, predicted_us)
        index, exit_us = (1 if expected_us > 5 and cstates else 0), 0.0
        for i, (residency_ns, latency_ns) in enumerate(cstates, 1):
            residency_us, latency_us = residency_ns / 1000, latency_ns / 1000
            if residency_us > predicted_us or latency_us * multiplier > predicted_us:
                continue
            index, exit_us = i, latency_us
        return index, exit_us, bucket

    def update(self, expected_us: float, exit_us: float, bucket: int, idle_us: float) -> None:
        """menu_update(): learn from an idle period of ``idle_us``."""
        measured_us = idle_us - exit_us if idle_us > exit_us else idle_us
        factor = self.correction_factor[bucket] * (DECAY - 1) / DECAY
        if expected_us > 0 and measured_us < MAX_INTERESTING:
            factor += RESOLUTION * measured_us / expected_us
        else:
            factor += RESOLUTION
        self.correction_factor[bucket] = factor or 1
        self.intervals[self.interval_ptr] = idle_us
        self.interval_ptr = (self.interval_ptr + 1) % INTERVALS


def menu_exit_ns(dev: menu_device, cstates: list, tick_ns: float, start: float,
                 end: float, nr_running: int) -> float:
    """An idle CPU from ``start`` to ``end`` (ns) under the menu governor,
    ``nr_running`` tasks at its last tick before ``start``: the exit latency
    the task that gets the CPU at ``end`` pays (ns).  Each idle tick in
    between ends one idle period and begins the next, with the CPU's load 0."""
    t = start
    while True:
        next_event = (t // tick_ns + 1) * tick_ns if tick_ns else float("inf")
        expected_us = (next_event - t) / 1000
        index, exit_us, bucket = dev.select(cstates, expected_us, nr_running)
        stop = min(end, next_event)
        dev.update(expected_us, exit_us, bucket, (stop - t) / 1000)
        if stop >= end:
            return cstates[index - 1][1] if index else 0.0
        t, nr_running = next_event, 0
