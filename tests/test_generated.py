"""Generated scenarios (several processes, every op, random ranges) run with
every check on: no crash, no leak, no broken invariant."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from anonvma.testing import check_scenario, scenarios


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_generated_scenarios_hold_every_invariant(text):
    check_scenario(text)
