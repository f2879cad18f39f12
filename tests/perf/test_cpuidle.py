"""The C-state an idle CPU sleeps in: 3.0's menu governor
(drivers/cpuidle/governors/menu.c as of 3.0) over intel_idle's Nehalem
table (C1 3 us / 6 us residency, C1E 10 / 20, C3 20 / 80, C6 200 / 800).
The expected states are worked out by hand from menu_select(),
performance_multiplier(), detect_repeating_patterns() and menu_update()."""

from __future__ import annotations

from anonvma.perf.costs import load_costs
from anonvma.perf.cpuidle import (menu_device, menu_exit_ns, oracle_exit_ns,
                                  performance_multiplier)

CSTATES = load_costs()["sched"]["cstates"]
TICK = 1_000_000        # HZ=1000


def test_the_table_is_nehalems():
    assert CSTATES == [[6000, 3000], [20000, 10000], [80000, 20000], [800000, 200000]]


def test_the_multiplier_is_ten_per_task_at_the_last_tick():
    # cpu_load[0] = 1024 per nice-0 task; LOAD_INT(1024) = 0, LOAD_FRAC(1024) = 50:
    # get_loadavg() 5, multiplier 1 + 2 * 5
    assert [performance_multiplier(n) for n in (0, 1, 2, 3)] == [1, 11, 21, 31]


def test_a_busy_cpu_is_kept_out_of_c6_until_the_prediction_covers_its_latency_times_the_load():
    dev = menu_device()
    # a tick 1000 us away, a unity correction factor, no pattern yet:
    # C6 would need 200 * 11 = 2200 us; C3's 20 * 11 = 220 us fits
    assert dev.select(CSTATES, 1000, 1)[:2] == (3, 20)
    # idle at its last tick: multiplier 1, C6
    assert menu_device().select(CSTATES, 1000, 0)[:2] == (4, 200)


def test_a_repeating_pattern_of_short_idles_is_predicted():
    dev = menu_device()
    for _ in range(8):
        dev.update(1000, 3, 3, 50)
    # avg 50 us, variance 0: predicted 50; C1E's 10 * 11 = 110 > 50, C1's 33 fits
    assert dev.select(CSTATES, 1000, 1)[:2] == (1, 3)


def test_the_c1_it_falls_back_to_costs_its_exit_but_counts_none_in_its_learning():
    dev = menu_device()
    # idle 4 us from 10 us before the tick: predicted 10; C1's 3 * 11 = 33 > 10,
    # so no state qualifies and menu_select() keeps C1 with data->exit_us 0:
    # the task pays C1's 3 us, menu_update() learns from all 4 us of the
    # 10-100 us bucket: 8192 * 7/8 + 1024 * 4/10
    assert menu_exit_ns(dev, CSTATES, TICK, 990_000, 994_000, 1) == 3_000
    assert dev.correction_factor[1] == 8192 * 7 / 8 + 1024 * 4 / 10


def test_a_short_idle_the_governor_did_not_foresee_pays_the_state_it_chose():
    # 1000 us to the tick, 1 task at the last tick: C3; the oracle knows the
    # idle lasts 4 us and charges nothing
    assert menu_exit_ns(menu_device(), CSTATES, TICK, 0, 4_000, 1) == 20_000
    assert oracle_exit_ns(CSTATES, 4_000) == 0


def test_a_timer_due_within_5_us_polls():
    assert menu_device().select(CSTATES, 5, 1)[:2] == (0, 0)


def test_the_idle_tick_ends_each_idle_period_and_the_load_it_saw_is_zero():
    dev = menu_device()
    # idle from 0.5 ms to 3.2 ms with 1 task at the last tick: at 0.5 ms
    # (500 us to the tick, multiplier 11) C3; at the ticks of 1 and 2 ms
    # (1000 us, multiplier 1, factor of the 1000-10000 us bucket unity) C6;
    # at 3 ms the intervals 500, 1000, 1000 are no pattern and the factor is
    # 8192 * 7/8 + 1024 * 800/1000 = 7987.2, then 7987.2 * 7/8 + 819.2 = 7808:
    # predicted 1000 * 7808 / 8192 = 953 us, C6 still; the task pays its 200 us
    assert menu_exit_ns(dev, CSTATES, TICK, 500_000, 3_200_000, 1) == 200_000
    assert dev.intervals[:4] == [500, 1000, 1000, 200]


def test_the_oracle_takes_the_deepest_state_the_idle_time_covered():
    assert [oracle_exit_ns(CSTATES, ns) for ns in (5_000, 6_000, 100_000, 900_000)] == \
        [0, 3_000, 20_000, 200_000]
