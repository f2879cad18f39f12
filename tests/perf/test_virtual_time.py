"""Virtual-time runs: the same seed gives the same timeline, the workloads
run the era's own rmap code (a patch changes the prediction), and the
command's outputs read back."""

from __future__ import annotations

import json

from anonvma.cli import main
from anonvma.perf import run_workload
from anonvma.perf.costs import load_costs
from anonvma.perf.report import perfetto_trace, read_trace


def small_costs():
    costs = load_costs()
    costs["workloads"]["exim"].update(messages=2, vmas=4)
    return costs


def test_same_seed_same_timeline():
    runs = [run_workload("exim", "v3.0", 4, small_costs(), seed=7, timeline=True)
            for _ in range(2)]
    assert runs[0].timeline == runs[1].timeline
    assert runs[0].makespan_ns == runs[1].makespan_ns
    assert len(runs[0].timeline) > 100
    other = run_workload("exim", "v3.0", 4, small_costs(), seed=8, timeline=True)
    assert other.timeline != runs[0].timeline


def test_time_advances_only_through_costs():
    costs = small_costs()
    for section in ("single_cpu", "lock", "topology", "sched"):
        for key, value in costs[section].items():
            if isinstance(value, (int, float)) and key != "cores_per_socket":
                costs[section][key] = 0
    costs["sched"]["cstates"] = []
    for key in ("receive_ns", "deliver_ns"):
        costs["workloads"]["exim"][key] = 0
    r = run_workload("exim", "v3.0", 2, costs)
    assert r.makespan_ns == 1.0         # the floor: nothing cost anything


def test_the_era_code_decides_the_lock_traffic():
    # 3.0-rc1 locks the root once per anon_vma_chain; 3.0 once per
    # anon_vma_clone and once per unlink_anon_vmas (bb4aa39676f7 + the
    # two-pass unlink): per fork of a VMA with C chains, C+1 acquisitions
    # against 1 + 1 for the new anon_vma's link.
    costs = small_costs()
    rc1 = run_workload("exim", "v3.0-rc1", 1, costs)
    v30 = run_workload("exim", "v3.0", 1, costs)
    assert rc1.stat.acquisitions > v30.stat.acquisitions
    assert rc1.stat.contentions == v30.stat.contentions == 0     # one CPU


def test_user_patch_changes_the_prediction(tmp_path):
    patch = tmp_path / "relock.py"
    patch.write_text(
        "from anonvma.variants.v3_0 import Linux_3_0\n"
        "class Relock(Linux_3_0):\n"
        "    name = 'relock'\n"
        "    def anon_vma_fork(self, vma, pvma):\n"
        "        if pvma.anon_vma is not None:\n"
        "            self.anon_vma_lock_write(pvma.anon_vma)\n"
        "            self.anon_vma_unlock_write(pvma.anon_vma)\n"
        "        return super().anon_vma_fork(vma, pvma)\n")
    costs = small_costs()
    base = run_workload("exim", "v3.0", 1, costs)
    patched = run_workload("exim", f"{patch}:Relock", 1, costs)
    assert patched.stat.acquisitions > base.stat.acquisitions
    assert patched.makespan_ns > base.makespan_ns


def test_perfetto_trace_reads_back():
    r = run_workload("exim", "v3.0-rc1", 4, small_costs(), trace=True)
    slices = read_trace(perfetto_trace(r))
    assert any(name.startswith("CPU ") for name in slices)
    assert sum(slices.values()) >= r.stat.acquisitions


def test_perf_command_json(tmp_path, capsys):
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"workloads": {"exim": {"messages": 1, "vmas": 2}}}))
    assert main(["perf", "exim", "--variant", "v2.6.39", "--variant", "v3.0",
                 "--cpus", "1,2", "--json", "--costs", str(costs)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["variant"], r["cpus"]) for r in out["runs"]] == \
        [("v2.6.39", 1), ("v2.6.39", 2), ("v3.0", 1), ("v3.0", 2)]
    assert out["runs"][0]["relative"] == 1.0


def test_perf_command_rejects_bad_input(tmp_path, capsys):
    bad = tmp_path / "costs.json"
    bad.write_text('{"lock": {"fast_ns": -1}}')
    assert main(["perf", "exim", "--costs", str(bad)]) == 2
    assert f"{bad}:1: 'lock.fast_ns' must be a number >= 0" in capsys.readouterr().err
    bad.write_text('{\n"lock": }')
    assert main(["perf", "exim", "--costs", str(bad)]) == 2
    assert f"{bad}:2: not JSON" in capsys.readouterr().err
    assert main(["perf", "exim", "--cpus", "0"]) == 2
    assert "--cpus 0" in capsys.readouterr().err
    assert main(["perf", "nosuch"]) == 2
    assert "unknown workload 'nosuch'" in capsys.readouterr().err
    assert main(["perf", "exim", "--trace", str(tmp_path / "no" / "t.pftrace")]) == 2
    assert "--trace" in capsys.readouterr().err and not (tmp_path / "no").exists()
