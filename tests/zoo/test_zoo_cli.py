"""``anonvma zoo``: the list, the errors, replaying a reproducer, and the
pictures it writes."""

from __future__ import annotations

from pathlib import Path

from anonvma.cli import main
from anonvma.scenario import parse
from anonvma.viz.graph import run_until
from anonvma.zoo import BUGS
from anonvma.zoo.pictures import DOUBLE_REUSE, growth_plot, hierarchy_pictures

HERE = Path(__file__).parent / "reproducers"


def test_list_names_every_bug_with_its_commits(capsys):
    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    for bug in BUGS:
        assert bug.id in out and bug.fixed_by in out and f"{bug.buggy} -> {bug.fixed}" in out


def test_unknown_bug_is_one_message(capsys):
    assert main(["zoo", "run", "B99"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("anonvma: zoo run B99: no such bug") and "Traceback" not in err


def test_replay_fails_on_the_buggy_era_and_not_on_the_fixed_one(capsys):
    assert main(["zoo", "replay", str(HERE / "B8.scn")]) == 1
    assert "I-12:" in capsys.readouterr().out
    assert main(["zoo", "replay", str(HERE / "B8.scn"), "--variant", "v3.19"]) == 0


def test_replay_of_a_missing_file_is_one_message(capsys, tmp_path):
    assert main(["zoo", "replay", str(tmp_path / "none.scn")]) == 2
    assert capsys.readouterr().err.startswith("anonvma: zoo replay:")


def test_double_reuse_picture_shows_c4_reusing_c2s_anon_vma(tmp_path):
    """History notes §2 B10: on 5.19 C4 takes the anon_vma C2's VMA still
    uses; 6.0's num_active_vmas forbids it."""
    for era, shared in (("v5.19", True), ("v6.0", False)):
        k, _sink = run_until(parse(DOUBLE_REUSE), era, None)
        vma = {t.comm: t.mm.mm_mt.find(0x200000000000) for t in k.tasks if t.mm}
        assert (vma["C4"].anon_vma is vma["C2"].anon_vma) == shared, era
    files = hierarchy_pictures(tmp_path)
    assert all(Path(f).stat().st_size > 0 for f in files.values())


def test_growth_plot_is_written(tmp_path):
    path = Path(growth_plot(tmp_path)["growth_plot"])
    assert path.read_bytes()[:4] == b"\x89PNG"
