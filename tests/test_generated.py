"""Generated scenarios (several processes, every op, random ranges) run with
every check on: no crash, no leak, no broken invariant."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonvma.explore.programs import generate
from anonvma.session import Config, Session
from anonvma.scenario import parse


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_scenarios_hold_every_invariant(data):
    text = generate(lambda lo, hi: data.draw(st.integers(lo, hi)))
    result = Session(parse(text, "<generated>"), Config()).run()
    assert result.problems == [], text
