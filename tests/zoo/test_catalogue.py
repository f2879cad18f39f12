"""Each bug's signature and eras: a report on an era is named as the
catalogued bug present there, so a fixed era's report of another bug (B10
on 4.0, B6's fixed era) is that bug's and not a failure of the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonvma.zoo import BUGS, BY_ID, others_in
from anonvma.zoo.catalogue import ERAS, identify
from anonvma.zoo.cold import Program, problem, replay_found, run_program

HERE = Path(__file__).parent / "reproducers"


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.id)
def test_each_bug_is_in_its_buggy_era_and_not_in_its_fixed_one(bug):
    assert bug.in_era(bug.buggy) and not bug.in_era(bug.fixed)
    first, last = (ERAS.index(e) for e in bug.present)
    assert first < last and bug.signature


def test_the_degree_rule_brought_b10_into_every_era_from_3_19_to_5_19():
    """7a3ef208e662 (3.19-rc4) brought in the degree rule and with it the
    double reuse; 2555283eb40d (6.0) replaced it.  B6's growth is in every
    era before the rule."""
    b10 = BY_ID["B10"]
    assert [e for e in ERAS if b10.in_era(e)] == ["v3.19-rc4", "v3.19", "v4.0", "v5.19"]
    b6 = BY_ID["B6"]
    assert b6.in_era("v2.6.36-rc1") and b6.in_era("v3.18") and not b6.in_era("v3.19-rc4")


@pytest.mark.parametrize("bug_id, scn, schedule", [
    ("B10", "B10-cold", None), ("B9", "B9", None), ("B8", "B8", None), ("B17", "B17-cold", None),
    ("B6", "B6", None), ("B1", "B1", "B1"), ("B4", "B4", "B4"), ("B4", "B4-cold", "B4-cold"),
    ("B5", "B5-cold", "B5-cold")])
def test_a_reproducers_report_shows_its_bugs_signature(bug_id, scn, schedule):
    bug = BY_ID[bug_id]
    ex = replay_found(str(HERE / f"{scn}.scn"),
                      schedule and str(HERE / f"{schedule}.schedule.json"), bug.buggy)
    kind, text = problem(ex.reports) or (ex.failure.kind, ex.failure.text)
    assert identify(bug.buggy, kind, text, first=bug) is bug


def test_b10_on_b6s_fixed_era_is_named_and_passed_over():
    """B10-cold.scn reports I-9 on 4.0: identified as B10, which 4.0 has,
    and passed over by the search for B6 there; on 6.0, where no catalogued
    bug has I-9, the same report would be a failure of the fix."""
    ex = replay_found(str(HERE / "B10-cold.scn"), None, "v4.0")
    kind, text = problem(ex.reports)
    assert kind == "invariant" and "I-9" in text
    assert identify("v4.0", kind, text) is BY_ID["B10"]
    assert identify("v6.0", kind, text) is None
    skip = others_in(BY_ID["B6"], "v4.0")
    program = Program((HERE / "B10-cold.scn").read_text(), False)
    assert run_program(program, "v4.0", 0, skip=skip) is None
    assert list(skip.seen) == ["B10"] and skip.seen["B10"][2] == "invariant"
    # searching B10 itself on 4.0, the report is the target's
    assert run_program(program, "v4.0", 0, skip=others_in(BY_ID["B10"], "v4.0"))[0] == \
        "invariant"
