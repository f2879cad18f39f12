"""``anonvma campaign``: three variants (6.18 and two patches of a user,
each taking a lock its caller holds) and two strategies, interrupted and
resumed, finishing with one row per distinct failure; on multiprocessing,
in process and on a real local Ray cluster."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from anonvma.campaign import make_plan, open_campaign, run_campaign, signature
from anonvma.campaign.backends import InProcess
from anonvma.cli import main
from anonvma.demo import example

PATCHES = '''\
from anonvma.kernel import Linux


class DoubleRead(Linux):
    """The fault handler takes mmap_lock for read a second time."""

    def handle_user_access(self, address, write):
        self.mmap_read_lock(self.current.mm)
        try:
            return super().handle_user_access(address, write)
        finally:
            self.mmap_read_unlock(self.current.mm)


class ForkReadsItsMm(Linux):
    """anon_vma_fork takes the parent's mmap_lock, which dup_mmap holds."""

    def anon_vma_fork(self, vma, pvma):
        self.mmap_read_lock(self.current.mm)
        try:
            return super().anon_vma_fork(vma, pvma)
        finally:
            self.mmap_read_unlock(self.current.mm)
'''

RACE = example("fork_beside_munmap_and_mprotect.scn").read_text()
VARIANTS = "v6.18,patches.py:DoubleRead,patches.py:ForkReadsItsMm"
# what lockdep's stack backtraces show of the two patches, past the lock
# primitives (mmap_read_lock, down_read): where each took the lock again
EXPECTED = {"lockdep: handle_user_access",
            "lockdep: anon_vma_fork < dup_mmap < dup_mm < copy_mm"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "patches.py").write_text(PATCHES)
    (tmp_path / "race.scn").write_text(RACE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Tables(HTMLParser):
    """The rows of each table of a page, by the table's class."""

    def __init__(self):
        super().__init__()
        self.tables, self._cls, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._cls = dict(attrs).get("class")
            self.tables.setdefault(self._cls, [])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr":
            self.tables[self._cls].append(self._row)


def campaign_cmd(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return [sys.executable, "-m", "anonvma", "campaign", "race.scn", "--generate", "2",
            "--variants", VARIANTS, "--strategies", "random,pct", "--seeds", "2",
            "--runs", "400", "-o", "out", *args], env


def interrupt_and_resume(workdir, *backend):
    """Start the campaign, interrupt it once its first exploration is
    saved, resume it; the resumed run's summary."""
    cmd, env = campaign_cmd(*backend)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    jobs = workdir / "out" / "jobs"
    deadline = time.monotonic() + 120
    while not (jobs.is_dir() and any(jobs.glob("*.json"))):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "resume with 'anonvma campaign --resume out'" in err
    first = {p.stem: p.stat().st_mtime_ns for p in jobs.glob("*.json")}
    plan = json.loads((workdir / "out" / "plan.json").read_text())
    total = len(plan["explorations"])
    assert 0 < len(first) < total

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr            # failures were found
    # the resumed run ran only what was left
    rerun = {line.split(":")[0] for line in done.stderr.splitlines() if ": " in line}
    assert rerun and not rerun & set(first)
    assert len(rerun) == total - len(first)
    assert all((jobs / f"{i}.json").stat().st_mtime_ns == t for i, t in first.items())
    return json.loads((workdir / "out" / "summary.json").read_text())


def check_summary(workdir, summary):
    assert summary["pending"] == 0 and summary["errors"] == 0
    # 3 programs x 3 variants x 2 strategies x 2 seeds
    assert summary["explorations"] == 36
    sigs = {u["signature"] for u in summary["unique_failures"]}
    assert EXPECTED <= sigs
    for u in summary["unique_failures"]:
        assert len(u["explorations"]) >= 4      # both strategies, both seeds
        assert all("v6.18" not in e for e in u["explorations"])
    # the replay commands replay
    for u in summary["unique_failures"]:
        args = u["replay"].split()[1:]
        assert main(args) == 1
    page = Tables()
    page.feed((workdir / "out" / "index.html").read_text())
    rows = page.tables["failures"][1:]
    assert sorted(row[1] for row in rows) == sorted(sigs)
    assert len(page.tables["explorations"]) == 37
    cov = dict(page.tables["coverage"][1:])
    assert int(cov["lock-class pairs lockdep saw (held -> taken)"]) > 0


def test_interrupted_and_resumed_on_multiprocessing(workdir):
    summary = interrupt_and_resume(workdir, "--jobs", "2")
    assert summary["backend"] == "multiprocessing, 2 processes"
    check_summary(workdir, summary)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="Ray is not installed: make test installs anonvma[ray]")
def test_interrupted_and_resumed_on_a_local_ray(workdir):
    summary = interrupt_and_resume(workdir, "--ray", "--jobs", "2")
    assert summary["backend"] == "ray, a local cluster, 2 workers"
    check_summary(workdir, summary)
    hosts = {json.loads(p.read_text())["pid"] for p in (workdir / "out" / "jobs").glob("*.json")}
    assert os.getpid() not in hosts


def test_in_process_coverage(workdir):
    plan = open_campaign("cov", make_plan(["race.scn"], variants=["v6.18"],
                                          strategies=["random"], runs=20))
    summary = run_campaign(plan, "cov", InProcess())
    cov = summary["coverage"]
    assert cov["runs"] == 20 and 0 < cov["profiled_runs"] < 20
    # 6.18: fork links the child to every anon_vma of the parent
    # (anon_vma_fork -> anon_vma_clone); mprotect of the first two pages of
    # P1's VMA asks vma_merge_existing_range about its start, with nothing
    # before it to merge with; the anon_vma root lock (a rwsem) is taken
    # under mmap_lock
    assert {"anon_vma_fork", "anon_vma_clone", "vma_merge_existing_range"} <= set(cov["functions"])
    assert "vma_merge_existing_range: its start, merge none" in cov["merges"]
    assert "&mm->mmap_lock -> &anon_vma->rwsem" in cov["lock_pairs"]
    assert any(k.startswith("anon_vma_fork: ") for k in cov["reuse"])
    functions = set(cov["functions"])
    assert cov["preemption_points"]
    assert all(k.split(" in ")[1] in functions for k in cov["preemption_points"])


def test_signatures_ignore_numbers_and_keep_frames():
    a = "INFO: task P1:2 blocked\nCall Trace:\n <TASK>\n __schedule\n schedule\n" \
        " mutex_lock\n anon_vma_lock_write\n page_lock_anon_vma\n rmap_walk_anon\n" \
        " folio_referenced\n shrink_folio_list\n </TASK>\n"
    assert signature("hung_task", a) == \
        "hung_task: anon_vma_lock_write < page_lock_anon_vma < rmap_walk_anon < folio_referenced"
    assert signature("invariant", "after line 7: AV3 has 2 children") == \
        signature("invariant", "after line 9: AV4 has 3 children")


@pytest.mark.parametrize("args, message", [
    (["race.scn"], "needs an output directory"),
    (["race.scn", "-o", "o", "--strategies", "chess"], "unknown strategy 'chess'"),
    (["race.scn", "-o", "o", "--variants", "v9.9"], "unknown variant 'v9.9'"),
    (["nope.scn", "-o", "o"], "nope.scn"),
    (["--resume", "empty"], "no campaign there"),
    (["race.scn", "-o", "o", "--ray", "--in-process"], "give one backend"),
    (["race.scn", "-o", "o", "--strategies", ""], "separated by commas"),
    (["-o", "o"], "nothing to explore"),
])
def test_bad_input_is_one_message(workdir, capsys, args, message):
    (workdir / "empty").mkdir()
    try:
        status = main(["campaign", *args])
    except SystemExit as e:         # argparse's own message for a malformed option
        status = e.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (workdir / "o").exists()


def test_another_plan_in_the_directory_is_refused(workdir, capsys):
    assert main(["campaign", "race.scn", "-o", "o", "--variants", "v6.18",
                 "--strategies", "random", "--runs", "2", "--in-process"]) == 0
    assert main(["campaign", "race.scn", "-o", "o", "--variants", "v6.18",
                 "--strategies", "pct", "--runs", "2", "--in-process"]) == 2
    assert "holds another campaign" in capsys.readouterr().err



def test_a_spent_budget_leaves_explorations_pending_for_a_resume(workdir, capsys):
    args = ["campaign", "race.scn", "--variants", "v6.18", "--strategies", "random,dfs",
            "--runs", "5", "--in-process", "--json"]
    assert main(args + ["-o", "b", "--seconds", "1e-9"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["done"], first["pending"]) == (0, 2)
    assert [j["status"] for j in first["jobs"]] == ["pending", "pending"]
    assert main(["campaign", "--resume", "b", "--in-process", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["done"], done["pending"], done["runs"]) == (2, 0, 10)
