"""``anonvma explore`` and ``anonvma replay``."""

import json

from anonvma.cli import main

RACE = "P0 mmap 0 4\nP0 write 0\ntogether\nP0 fork P1\nP0 write 1\nend\n"


def test_explore_json_summary(tmp_path, capsys):
    scn = tmp_path / "race.scn"
    scn.write_text(RACE)
    assert main(["explore", str(scn), "--strategy", "dfs", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "pass" and out["exhausted"] and out["runs"] > 1


def test_explore_rejects_an_unknown_strategy(tmp_path, capsys):
    scn = tmp_path / "race.scn"
    scn.write_text(RACE)
    assert main(["explore", str(scn), "--strategy", "chess"]) == 2
    assert "unknown strategy 'chess'" in capsys.readouterr().err


def test_replay_reports_a_bad_schedule_file(tmp_path, capsys):
    scn = tmp_path / "race.scn"
    scn.write_text(RACE)
    bad = tmp_path / "schedule.json"
    bad.write_text("[1, 2")
    assert main(["replay", str(scn), str(bad)]) == 2
    assert "schedule.json:1: error: not a schedule file" in capsys.readouterr().err
