"""A user's patch as a variant: the tutorial of docs/your-patch.md, run as
written (its two patch files are taken from the page), and every way a patch
can be unusable, each one message naming the file and line, exit status 2."""

from __future__ import annotations

import pathlib
import re

import pytest

from anonvma.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED = ROOT / "src" / "anonvma" / "examples" / "seed_fork_under_pressure.scn"
BESIDE = ROOT / "src" / "anonvma" / "examples" / "reclaim_beside_fork.scn"
PAGE = (ROOT / "docs" / "your-patch.md").read_text()
PATCHES = dict(re.findall(r"```python\n# (\S+\.py)\n(.*?)```", PAGE, re.S))


def run(capsys, *argv):
    """``anonvma ARGV``: exit status, stdout, stderr."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def patches(tmp_path, monkeypatch):
    """The page's patch files in a directory that is the working directory."""
    for name, text in PATCHES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_page_has_both_patches():
    assert set(PATCHES) == {"myfix.py", "nonowait.py"}


def test_the_seed_fix_as_a_user_patch_survives_the_seed(patches, capsys):
    # v3.0-rc2 deadlocks under these schedules (tests/variants/test_seed.py)
    status, out, err = run(capsys, "explore", SEED, "--strategy", "pct", "--seed", 2,
                           "--runs", 200, "--variant", "myfix.py:MyFix")
    assert (status, err) == (0, "")
    assert out == f"{SEED}: no problem in 200 schedules" + out.split("schedules", 1)[1]
    lockdep_on = patches / "seed-lockdep.scn"
    lockdep_on.write_text(SEED.read_text().replace("set lockdep off", "set lockdep on"))
    status, out, err = run(capsys, "explore", lockdep_on, "--strategy", "pct", "--seed", 2,
                           "--runs", 100, "--variant", "myfix.py:MyFix")
    assert (status, err) == (0, "") and "no problem in 100 schedules" in out
    # and the same exploration on the unpatched era gets the RECLAIM_FS report
    status, out, _ = run(capsys, "explore", lockdep_on, "--strategy", "pct", "--seed", 2,
                         "--runs", 100, "--no-shrink")
    assert status == 1 and "{RECLAIM_FS-ON-W} -> {IN-RECLAIM_FS-W} usage." in out


def test_gfp_kernel_under_the_root_lock_on_618_is_a_circular_dependency(patches, capsys):
    # a budget of shrinking above the default, which the search's few runs
    # would keep below what deleting a line of this scenario takes
    status, out, err = run(capsys, "explore", BESIDE, "--strategy", "pct", "--seed", 2,
                           "--shrink-lines", 20000, "--variant", "nonowait.py:NoNowait")
    assert status == 1 and err == ""
    report, summary = out.rsplit("\n\n", 1)
    assert "WARNING: possible circular locking dependency detected" in report
    held, rest = report.split("which lock already depends on the new lock.")
    assert "(&anon_vma->rwsem)" in held and "(fs_reclaim)" in held
    # the dependency the patch adds: fs_reclaim taken in anon_vma_clone's allocation
    chain = rest.split("-> #1 (fs_reclaim)")[1].split("-> #0")[0].split()
    assert chain[1:6] == ["fs_reclaim_acquire", "might_alloc", "kmem_cache_alloc",
                         "anon_vma_chain_alloc", "anon_vma_clone"]
    assert "try_to_unmap" in rest.split("-> #0 (&anon_vma->rwsem)")[1]
    replay_cmd = summary.splitlines()[-1].split()
    assert replay_cmd[:2] == ["anonvma", "replay"]
    assert replay_cmd[-2:] == ["--variant", "nonowait.py:NoNowait"]
    # the saved scenario was shrunk, and the printed command replays the report
    saved = pathlib.Path(replay_cmd[2]).read_text()
    assert len(saved.splitlines()) < len(BESIDE.read_text().splitlines())
    status, again, _ = run(capsys, *replay_cmd[1:])
    assert status == 1 and "possible circular locking dependency detected" in again
    # today's kernel, on the same file, with the same strategy: nothing
    status, out, _ = run(capsys, "explore", BESIDE, "--strategy", "pct", "--seed", 2,
                         "--runs", 300)
    assert status == 0 and "no problem in 300 schedules" in out


def test_diff_shows_exactly_the_patched_function(patches, capsys):
    status, out, _ = run(capsys, "diff", "v6.18", "nonowait.py:NoNowait")
    assert status == 0
    headers = [line for line in out.splitlines() if line.startswith(("--- ", "+++ "))]
    assert headers[0].startswith("--- v6.18 Rmap.anon_vma_clone")
    assert headers[1].startswith("+++ nonowait.py:NoNowait NoNowait.anon_vma_clone")
    assert len(headers) == 2
    assert "+        avc = self.anon_vma_chain_alloc(GFP_KERNEL)     # may enter reclaim" in out


def test_set_variant_names_the_patch_from_the_scenario_directory(patches, tmp_path, capsys,
                                                                 monkeypatch):
    sub = tmp_path / "work"
    sub.mkdir()
    (sub / "fix.py").write_text(PATCHES["myfix.py"])
    scn = sub / "fork.scn"
    scn.write_text("set variant fix.py:MyFix\nP0 mmap 0 4\nP0 write 0\nP0 fork P1\n")
    monkeypatch.chdir(ROOT)
    status, out, err = run(capsys, "run", scn)
    assert status == 0 and err == ""
    assert f"on {sub / 'fix.py'}:MyFix" in out.splitlines()[0]


def test_a_module_and_an_installed_entry_point(tmp_path, capsys, monkeypatch):
    pkg = tmp_path / "site" / "rmap_patches_ep"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "nowait.py").write_text(PATCHES["nonowait.py"])
    dist = tmp_path / "site" / "rmap_patches_ep-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rmap-patches-ep\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[anonvma.variants]\nno-nowait = rmap_patches_ep.nowait:NoNowait\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    status, out, _ = run(capsys, "variants")
    assert status == 0
    assert re.search(r"^no-nowait +6\.18 allocating the anon_vma_chain with GFP_KERNEL under "
                     r"the root lock \(over v6\.18\)$", out, re.M)
    scn = tmp_path / "fork.scn"
    scn.write_text("P0 mmap 0 4\nP0 write 0\nP0 fork P1\n")
    for spec in ("no-nowait", "rmap_patches_ep.nowait:NoNowait"):
        status, out, err = run(capsys, "run", scn, "--variant", spec)
        assert status == 0 and err == "" and "on no-nowait" in out.splitlines()[0]


BAD = {
    "syntax": ("from anonvma.kernel import Linux\n\n\nclass MyFix(Linux)\n    pass\n",
               "bad.py:4: syntax error in the patch: expected ':'"),
    "import": ("from anonvma.kernel import Linux\nfrom anonvma.variants.v3_0 import NoSuchEra\n",
               "bad.py:2: the patch fails to load: ImportError: cannot import name 'NoSuchEra'"),
    "raises": ("from anonvma.kernel import Linux\n\n\nclass MyFix(Linux):\n    x = 1 / 0\n",
               "bad.py:5: the patch fails to load: ZeroDivisionError: division by zero"),
    "not an era": ("class MyFix:\n    pass\n",
                   "bad.py:1: bad.py:MyFix is a class MyFix, not a kernel era"),
    "clash": ("from anonvma.kernel import Linux\n\n\nclass MyFix(Linux):\n    name = 'v3.0'\n",
              "bad.py:4: bad.py:MyFix names itself 'v3.0', which is a built-in era"),
    "missing class": ("from anonvma.kernel import Linux\n\n\nclass Other(Linux):\n    pass\n",
                      "bad.py: no class 'MyFix' in it; it defines Other"),
}


@pytest.mark.parametrize("case", BAD)
@pytest.mark.parametrize("command", ["trace", "run", "explore", "replay", "check-kernel"])
def test_an_unusable_patch_is_one_message_with_its_line(tmp_path, capsys, monkeypatch,
                                                        case, command):
    text, message = BAD[case]
    (tmp_path / "bad.py").write_text(text)
    monkeypatch.chdir(tmp_path)
    scn = tmp_path / "s.scn"
    scn.write_text("P0 mmap 0 4\n")
    extra = [tmp_path / "schedule.json"] if command == "replay" else []
    status, out, err = run(capsys, command, scn, *extra, "--variant", "bad.py:MyFix")
    assert (status, out) == (2, "")
    assert err.startswith(f"anonvma: {message}") and err.count("\n") == 1
    assert "Traceback" not in err


def test_an_unusable_patch_in_diff_and_in_set_variant(tmp_path, capsys, monkeypatch):
    text, message = BAD["syntax"]
    (tmp_path / "bad.py").write_text(text)
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "diff", "v6.18", "bad.py:MyFix")
    assert (status, out) == (2, "") and err == f"anonvma: {message}\n"
    scn = tmp_path / "s.scn"
    scn.write_text("# uses my patch\nset variant bad.py:MyFix\nP0 mmap 0 4\n")
    status, out, err = run(capsys, "run", scn)
    assert (status, out) == (2, "")
    assert err == (f"{scn}:2: error: set variant: {tmp_path / 'bad.py'}:4: syntax error in the "
                   "patch: expected ':'\n")


@pytest.mark.parametrize("spec, message", [
    ("nosuch.py:MyFix", "anonvma: nosuch.py: no such patch file\n"),
    ("nosuch_pkg_xyz.mod:MyFix", "anonvma: nosuch_pkg_xyz.mod: no module named "
                                 "'nosuch_pkg_xyz': install the package, or write a file as "
                                 "PATH.py:Class\n"),
    ("bad.py:", "anonvma: bad variant 'bad.py:': write an era of 'anonvma variants', "
                "PATH.py:Class or package.module:Class\n"),
])
def test_a_patch_that_is_not_there(tmp_path, capsys, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.scn").write_text("P0 mmap 0 4\n")
    status, out, err = run(capsys, "run", "s.scn", "--variant", spec)
    assert (status, out, err) == (2, "", message)


def test_an_entry_point_under_an_eras_name_is_refused(tmp_path, capsys, monkeypatch):
    site = tmp_path / "site"
    (site / "clash_ep_pkg").mkdir(parents=True)
    (site / "clash_ep_pkg" / "__init__.py").write_text(PATCHES["nonowait.py"])
    dist = site / "clash_ep_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: clash-ep-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[anonvma.variants]\nbroken = clash_ep_pkg:NoNowait\n"
                                           "v3.0 = clash_ep_pkg:NoNowait\n")
    monkeypatch.syspath_prepend(str(site))
    status, out, err = run(capsys, "variants")
    init = site / "clash_ep_pkg" / "__init__.py"
    assert (status, out) == (2, "")
    assert err == (f"anonvma: {init}:6: the variant name 'v3.0' of clash_ep_pkg:NoNowait is a "
                   "built-in era's: register it under another name\n")


def test_a_failure_found_with_set_variant_replays_from_anywhere(tmp_path, capsys, monkeypatch):
    sub = tmp_path / "work"
    sub.mkdir()
    (sub / "nonowait.py").write_text(PATCHES["nonowait.py"])
    scn = sub / "beside.scn"
    scn.write_text(BESIDE.read_text().replace("set memory 64",
                                              "set variant nonowait.py:NoNowait\nset memory 64"))
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "explore", "work/beside.scn", "--strategy", "pct", "--seed", 2,
                         "--jobs", 2, "--runs", 50, "--save", "out")
    assert status == 1 and "possible circular locking dependency detected" in out
    replay_cmd = out.splitlines()[-1].split()
    saved = pathlib.Path(replay_cmd[2])
    # the copy names the patch file it had, from where it was
    assert f"set variant {sub / 'nonowait.py'}:NoNowait\n" in saved.read_text()
    monkeypatch.chdir(ROOT)
    status, again, _ = run(capsys, "replay", tmp_path / saved, tmp_path / replay_cmd[3])
    assert status == 1 and "possible circular locking dependency detected" in again
