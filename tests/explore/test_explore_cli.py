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


def test_noise_is_an_option_of_contend_only(tmp_path, capsys):
    scn = tmp_path / "race.scn"
    scn.write_text(RACE)
    assert main(["explore", str(scn), "--strategy", "pct", "--noise", "0.5"]) == 2
    assert "--noise is an option of the contend strategy, not pct" in capsys.readouterr().err
    assert main(["explore", str(scn), "--strategy", "contend", "--noise", "0.5", "--depth", "2",
                 "--runs", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["strategy"] == {"strategy": "contend", "seed": 0, "depth": 2, "execution": 19,
                               "noise": 0.5} and out["runs"] == 20


def test_replay_reports_a_bad_schedule_file(tmp_path, capsys):
    scn = tmp_path / "race.scn"
    scn.write_text(RACE)
    bad = tmp_path / "schedule.json"
    bad.write_text("[1, 2")
    assert main(["replay", str(scn), str(bad)]) == 2
    assert "schedule.json:1: error: not a schedule file" in capsys.readouterr().err


def write(tmp_path, text, name="t.scn"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_one_process_in_two_together_blocks_does_not_hang(tmp_path, capsys):
    scn = write(tmp_path, "P0 mmap 0 1\ntogether\nP0 write 0\nend\ntogether\nP0 write 0\n"
                "P0 maps\nend\n")
    assert main(["explore", str(scn), "--runs", "5"]) == 0
    assert "no problem in 5 schedules" in capsys.readouterr().out


def test_a_plain_file_has_one_schedule(tmp_path, capsys):
    scn = write(tmp_path, "P0 mmap 0 4\nP0 write 0\n")
    assert main(["explore", str(scn), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == 1
    assert main(["explore", str(scn)]) == 0
    assert "its one schedule (no together block)" in capsys.readouterr().out


def test_bad_options_are_messages(tmp_path, capsys):
    scn = write(tmp_path, RACE)
    for args in (["--runs", "0"], ["--runs", "-1"], ["--seconds", "nan"], ["--seconds", "-1"],
                 ["--seconds", "inf"], ["--depth", "0"], ["--depth", "3-1"], ["--depth", "1-"],
                 ["--depth", "1-101"], ["--shrink-lines", "0"], ["--preemptions", "-1"],
                 ["--jobs", "0"], ["--jobs", "100000"], ["--variant", ""], ["--seed", "-3"],
                 ["--strategy", "contend", "--noise", "0"], ["--strategy", "contend", "--noise", "1.5"],
                 ["--strategy", "contend", "--noise", "nan"], ["--strategy", "contend", "--noise", "x"]):
        try:
            status = main(["explore", str(scn), *args])
        except SystemExit as e:
            status = e.code
        assert status == 2, args
        err = capsys.readouterr().err
        assert "Traceback" not in err and "error" in err, (args, err)
    assert main(["explore", str(scn), "--save", "/proc/nope/x", "--runs", "1"]) == 2
    assert "--save /proc/nope/x" in capsys.readouterr().err


def test_replay_refuses_a_schedule_that_does_not_fit(tmp_path, capsys):
    bug = write(tmp_path, "P0 mmap 0 4\nP0 write 0\ntogether\nP0 fork P1\nP0 mprotect 0 1 r\n"
                "end\n", "race.scn")
    r = __import__("anonvma.explore", fromlist=["explore"]).explore(
        bug, strategy="random", budget_runs=3, seed=1)
    assert r.failure is None
    from anonvma.explore.runner import execute
    from anonvma.explore.schedule import save_schedule
    from anonvma.explore.strategies import Random
    from anonvma.scenario import parse_file
    from anonvma.session import Session
    ex = execute(Session(parse_file(str(bug))), Random(seed=4))
    good = tmp_path / "good.json"
    save_schedule(good, ex.schedule, variant="v6.18")
    assert main(["replay", str(bug), str(good)]) == 0
    # shifted, reversed, on another variant, for another scenario
    for name, decisions, info in (("shifted.json", ex.schedule[1:], {}),
                                  ("reversed.json", ex.schedule[::-1], {}),
                                  ("variant.json", ex.schedule, {"variant": "v3.0"})):
        if decisions == ex.schedule and not info:
            continue
        path = tmp_path / name
        save_schedule(path, decisions, **info)
        assert main(["replay", str(bug), str(path)]) == 2, name
        err = capsys.readouterr().err
        assert "does not fit" in err or "recorded on variant v3.0" in err, (name, err)
    other = write(tmp_path, "P0 mmap 0 8\ntogether\nP0 write 0\nP0 write 1\nend\n", "other.scn")
    assert main(["replay", str(other), str(good)]) == 2


def test_diff_of_an_era_with_itself_says_so(capsys):
    assert main(["diff", "v3.0", "v3.0"]) == 0
    assert "define every kernel function the same way" in capsys.readouterr().out


def test_replay_of_a_file_that_is_not_utf8_is_a_message(tmp_path, capsys):
    from anonvma.explore.schedule import Pick, save_schedule
    scn = tmp_path / "bad.scn"
    scn.write_bytes(b"P0 mmap 0 4\n# \xf4\x80\n")
    sched = tmp_path / "schedule.json"
    save_schedule(sched, [Pick(1, (1, 2), None)])
    assert main(["replay", str(scn), str(sched)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{scn}:2: error:") and "Traceback" not in err


DOUBLE_READ = '''\
from anonvma.kernel import Linux


class DoubleRead(Linux):
    """The fault handler takes mmap_lock for read twice."""

    def handle_user_access(self, address, write):
        self.mmap_read_lock(self.current.mm)
        try:
            return super().handle_user_access(address, write)
        finally:
            self.mmap_read_unlock(self.current.mm)
'''


def test_report_first_prints_the_report_before_shrinking(tmp_path, capsys, monkeypatch):
    """The recursive-read report as found, then the shrunk failure, saved."""
    (tmp_path / "double.py").write_text(DOUBLE_READ)
    scn = write(tmp_path, "P0 mmap 0 4\nP0 mmap 8 4\nP0 write 8\ntogether\nP0 write 0\n"
                "P0 mprotect 2 1 r\nend\n")
    monkeypatch.chdir(tmp_path)
    assert main(["explore", str(scn), "--variant", "double.py:DoubleRead", "--report-first",
                 "--save", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    found, rest = out.split("shrinking it)\n")
    assert "possible recursive locking detected" in found
    assert "(found in run 1, " in found
    assert "t.scn: lockdep: WARNING: possible recursive locking detected (run 1, " in rest
    assert "replay with:" in rest
    saved = next((tmp_path / "out").iterdir())
    assert (saved / "t.scn").read_text().count("\n") < scn.read_text().count("\n")
