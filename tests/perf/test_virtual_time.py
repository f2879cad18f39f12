"""Virtual-time runs: the same seed gives the same timeline, the workloads
run the era's own rmap code (a patch changes the prediction), and the
command's outputs read back."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from anonvma.cli import main
from anonvma.perf import WORKLOADS, run_workload
from anonvma.scenario import parse
from anonvma.session import Config, Session
from anonvma.perf.costs import load_costs
from anonvma.perf.report import lock_stat_lines, perfetto_trace, read_trace


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
    bad.write_text('{"sched": {"placement": "wake_affine"}}')
    assert main(["perf", "exim", "--costs", str(bad)]) == 2
    assert (f"{bad}:1: 'sched.placement' must be one of select_task_rq_fair, idle-longest, "
            "not 'wake_affine'") in capsys.readouterr().err
    bad.write_text('{\n"lock": }')
    assert main(["perf", "exim", "--costs", str(bad)]) == 2
    assert f"{bad}:2: not JSON" in capsys.readouterr().err
    assert main(["perf", "exim", "--cpus", "0"]) == 2
    assert "--cpus 0" in capsys.readouterr().err
    assert main(["perf", "nosuch"]) == 2
    assert "unknown workload 'nosuch'" in capsys.readouterr().err
    assert main(["perf", "exim", "--trace", str(tmp_path / "no" / "t.pftrace")]) == 2
    assert "--trace" in capsys.readouterr().err and not (tmp_path / "no").exists()


def test_pressure_reclaims_under_the_root_lock_on_3_0_rc2_never_on_3_0():
    """The seed's claim: 3.0-rc2 allocates anon_vma_chains with GFP_KERNEL
    under the root mutex, so its direct reclaims can run holding it; 3.0's
    GFP_NOWAIT try never reclaims and its fallback runs unlocked."""
    rc2 = run_workload("exim", "v3.0-rc2", 16, pressure=True)
    fixed = run_workload("exim", "v3.0", 16, pressure=True)
    assert rc2.reclaims and fixed.reclaims
    assert rc2.reclaims_locked > 0
    assert fixed.reclaims_locked == 0
    # the holder's reclaim is in the lock's hold times
    assert max(rc2.stat.holds) > 10 * max(fixed.stat.holds)


# kernel/locking/lockdep_proc.c, seq_header(): the columns after "class name"
KERNEL_LOCK_STAT_COLUMNS = ["con-bounces", "contentions", "waittime-min", "waittime-max",
                            "waittime-total", "waittime-avg", "acq-bounces", "acquisitions",
                            "holdtime-min", "holdtime-max", "holdtime-total", "holdtime-avg"]


def test_lock_stat_reads_as_the_kernel_prints_it():
    r = run_workload("exim", "v3.0-rc1", 4, small_costs())
    lines = lock_stat_lines(r).splitlines()
    assert lines[0] == "lock_stat version 0.4"
    # seq_line(m, '-', 0, 40 + 1 + 12 * (14 + 1)) around "%40s %14s ..."
    assert lines[1] == lines[3] == "-" * 221 and lines[4] == ""
    assert lines[2][:40].strip() == "class name" and lines[2][40] == " "
    assert [lines[2][41 + 15 * i:55 + 15 * i].strip() for i in range(12)] == \
        KERNEL_LOCK_STAT_COLUMNS
    # seq_stats(): "%40s:" then the twelve columns, times in us with two decimals
    name, _, rest = lines[5].partition(":")
    assert name.strip() == "&anon_vma->mutex" and len(name) == 40
    values = dict(zip(KERNEL_LOCK_STAT_COLUMNS, rest.split()))
    assert int(values["contentions"]) == r.stat.contentions > 0
    assert int(values["acquisitions"]) == len(r.stat.holds)
    assert float(values["holdtime-total"]) == pytest.approx(sum(r.stat.holds) / 1e3, abs=0.01)
    assert float(values["waittime-max"]) == pytest.approx(max(r.stat.waits) / 1e3, abs=0.01)


def test_plots_are_png_and_svg(tmp_path):
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"workloads": {"exim": {"messages": 1, "vmas": 2}}}))
    assert main(["perf", "exim", "--variant", "v2.6.39", "--variant", "v3.0-rc1",
                 "--cpus", "1,4", "--costs", str(costs), "--plot", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".png", ".svg"))
    assert written == ["exim-lock-wait.png", "exim-lock-wait.svg",
                       "exim-throughput.png", "exim-throughput.svg"]
    for name in written:
        path = tmp_path / name
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            root = ElementTree.parse(path).getroot()
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert any(el.tag.endswith("path") for el in root.iter())


def test_exim_forks_share_the_daemons_roots():
    """MOSBENCH's exim: the daemon forks a connection process, which forks
    a delivery process per message; every anonymous VMA is inherited, so
    each VMA of every process in the tree has an anon_vma of its own whose
    root is the daemon's anon_vma of that VMA (anon_vma_fork: ``anon_vma->root
    = pvma->anon_vma->root``): every fork and exit locks the daemon's roots."""
    p = small_costs()["workloads"]["exim"]
    text = WORKLOADS["exim"].setup(2, p, None) + "C0 fork D0\n"
    machine = Session(parse(text, "<exim>"), Config(variant="v3.0", lockdep=False,
                                                    checks=False)).boot()
    machine.run_steps()
    procs = machine.runner.procs

    def anon_vmas(name):
        return [vma.anon_vma for vma in procs[name].task.mm.mm_mt if vma.anon_vma is not None]
    daemon = anon_vmas("P0")
    assert all(av.root is av for av in daemon)
    for name in ("C0", "C1", "D0"):
        avs = anon_vmas(name)
        assert [av.root for av in avs] == daemon
        assert not set(map(id, avs)) & set(map(id, daemon))


@pytest.mark.parametrize("variant", ["v2.6.39", "v3.0-rc1", "v3.0-rc2", "v3.0"])
def test_exim_deliveries_write_the_daemons_swapped_pages(variant):
    """Under pressure the daemon's pages are in swap when a delivery writes
    them, while the daemon and the connection process keep swap PTEs to the
    slots: 3.0's reuse_swap_page() counts those, so the write copies the
    page, and the next delivery's swap-in finds the cached page still on
    the daemon's root (before, it had moved to an exited delivery's
    anon_vma: __page_check_anon_rmap's VM_BUG_ON)."""
    costs = small_costs()
    r = run_workload("exim", variant, 4, costs, pressure=True)
    assert r.reclaims > 0


def first_forks(r) -> list[float]:
    """When each forking task (a connection) forked first."""
    first = {}
    for ns, pid, symbol in r.timeline:
        if symbol == "copy_process":
            first.setdefault(pid, ns)
    return sorted(first.values())


def test_exim_stagger_starts_the_connections_out_of_step():
    costs = small_costs()
    p = costs["workloads"]["exim"]
    message = p["receive_ns"] + p["deliver_ns"]
    n = 4
    together = first_forks(run_workload("exim", "v3.0", n, costs, timeline=True))
    p["stagger"] = 1
    apart = first_forks(run_workload("exim", "v3.0", n, costs, timeline=True))
    assert len(together) == len(apart) == n
    # connection i of n forks its first delivery i/n of a message's work late
    assert all(t >= i * message / n for i, t in enumerate(apart))
    assert together[-1] < message / n
