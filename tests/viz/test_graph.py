"""``anonvma graph``: real scenario files drawn, and the drawing read back
(Graphviz's own JSON output, the SVG through xml.etree) to check its nodes
and edges against what the kernel's fork and exit do to the hierarchy."""

from __future__ import annotations

import json
import pathlib
import shutil
import xml.etree.ElementTree as ET

import pytest

from anonvma.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT / "tests" / "scenarios" / "shared"
SEED = ROOT / "src" / "anonvma" / "examples" / "seed_fork_under_pressure.scn"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed (make test installs it)")


def graph(tmp_path, capsys, scenario, *options):
    """Draw ``scenario`` as Graphviz JSON; (nodes: name -> label, edges:
    {(tail, head, label)})."""
    out = tmp_path / "g.dot"
    assert main(["graph", str(scenario), *map(str, options), "-o", str(out)]) == 0
    assert capsys.readouterr() == ("", "")
    import graphviz
    drawn = json.loads(graphviz.Source(out.read_text()).pipe(format="json"))
    objects = drawn.get("objects", [])
    nodes = {o["name"]: o["label"] for o in objects if "nodes" not in o}
    edges = {(objects[e["tail"]]["name"], objects[e["head"]]["name"], e.get("label"))
             for e in drawn.get("edges", [])}
    clusters = {o["name"]: {objects[i]["name"] for i in o.get("nodes", [])}
                for o in objects if "nodes" in o}
    return nodes, edges, clusters


def avs(nodes):
    return sorted(n for n in nodes if n.startswith("AV") and not n.startswith("AVC"))


@needs_dot
def test_a_fork_once_after_the_fork(tmp_path, capsys):
    nodes, edges, clusters = graph(tmp_path, capsys, SHARED / "a_fork_once.scn", "--line", 4)
    # the parent's anon_vma is the root; the child's VMA gets one of its own
    assert avs(nodes) == ["AV1", "AV2"]
    assert {(t, h, l) for t, h, l in edges if l in ("root", "parent")} == {
        ("AV2", "AV1", "root"), ("AV2", "AV1", "parent")}
    assert nodes["AV1"].split("\\l")[:4] == ["AV1  (root)", "refcount 2", "num_children 2",
                                             "num_active_vmas 1"]
    assert "tree: AVC1 P0 [0-4)\\l      AVC2 P1 [0-4)" in nodes["AV1"]
    assert nodes["AV2"].split("\\l")[1:5] == ["refcount 1", "num_children 0",
                                              "num_active_vmas 1", "tree: AVC3 P1 [0-4)"]
    # each VMA's chain: the parent's one AVC, the child's link to both anon_vmas
    assert {(t, h) for t, h, l in edges if l == "same_vma"} == {
        ("P0_vma0", "AVC1"), ("P1_vma0", "AVC2"), ("P1_vma0", "AVC3")}
    assert {(t, h) for t, h, l in edges if l == "anon_vma"} == {
        ("AVC1", "AV1"), ("AVC2", "AV1"), ("AVC3", "AV2")}
    assert {(t, h) for t, h, l in edges if l == "vma->anon_vma"} == {
        ("P0_vma0", "AV1"), ("P1_vma0", "AV2")}
    # the page P0 wrote is shared and still the parent's anon_vma's
    assert ("folios_AV1", "AV1", "mapping") in edges
    assert nodes["folios_AV1"].startswith("1 folio\\lpage 0 ")
    assert clusters == {"cluster_P0": {"P0_vma0", "AVC1"},
                        "cluster_P1": {"P1_vma0", "AVC2", "AVC3"}}
    assert nodes["P0_vma0"] == "[0-4) rw-p"


@needs_dot
def test_a_fork_once_after_the_child_exits(tmp_path, capsys):
    nodes, edges, clusters = graph(tmp_path, capsys, SHARED / "a_fork_once.scn", "--line", 5)
    assert avs(nodes) == ["AV1"] and set(clusters) == {"cluster_P0"}
    assert nodes["AV1"].split("\\l")[:5] == ["AV1  (root)", "refcount 1", "num_children 1",
                                             "num_active_vmas 1", "tree: AVC1 P0 [0-4)"]


@needs_dot
def test_a_chain_of_forks_has_one_root_and_a_parent_chain(tmp_path, capsys):
    nodes, edges, _ = graph(tmp_path, capsys, SHARED / "c_chain5.scn", "--line", 13)
    # each fork's new anon_vma for the region, as c_chain5.expected names them
    # (the odd ones between are the child stacks', not drawn)
    chain = ["AV1", "AV2", "AV4", "AV6", "AV8", "AV10"]
    assert avs(nodes) == sorted(chain)
    assert {(t, h) for t, h, l in edges if l == "root"} == {(av, "AV1") for av in chain[1:]}
    assert {(t, h) for t, h, l in edges if l == "parent"} == set(zip(chain[1:], chain))
    # P5's VMA is on all six anon_vmas' trees, its chain six long
    assert sum(1 for t, _, l in edges if t == "P5_vma0" and l == "same_vma") == 6
    assert all("P5 [0-4)" in nodes[av] for av in avs(nodes))


@needs_dot
@pytest.mark.parametrize("scenario", sorted(SHARED.glob("*.scn")), ids=lambda p: p.stem)
def test_every_shared_scenario_draws_a_consistent_hierarchy(tmp_path, capsys, scenario):
    """At every line: every AVC is on one VMA's chain and points at one drawn
    anon_vma whose tree lists it; every non-root has a root edge."""
    from anonvma.scenario import parse_file
    for step in parse_file(str(scenario)).steps:
        nodes, edges, _ = graph(tmp_path, capsys, scenario, "--line", step.lineno)
        for avc in (n for n in nodes if n.startswith("AVC")):
            on_chain = [t for t, h, l in edges if h == avc and l == "same_vma"]
            target = [h for t, h, l in edges if t == avc and l == "anon_vma"]
            assert len(on_chain) == 1 and len(target) == 1, (step, avc)
            assert f"{avc} " in nodes[target[0]], (step, avc)
        for av in avs(nodes):
            roots = [h for t, h, l in edges if t == av and l == "root"]
            assert ("(root)" in nodes[av].split("\\l")[0]) == (roots == []), (step, av)


@needs_dot
def test_2_6_39_draws_the_list_and_the_root_it_has(tmp_path, capsys):
    nodes, edges, _ = graph(tmp_path, capsys, SHARED / "a_fork_once.scn", "--line", 4,
                            "--variant", "v2.6.39")
    # 2.6.39 mm/rmap.c: the child's anon_vma takes the parent's root, and a
    # reference on it; no parent pointer, no counters, a list of AVCs
    assert avs(nodes) == ["AV1", "AV2"]
    assert {(t, h, l) for t, h, l in edges if l in ("root", "parent")} == {("AV2", "AV1", "root")}
    assert nodes["AV1"] == "AV1  (root)\\lrefcount 2\\llist: AVC1 P0 [0-4)\\l      AVC2 P1 [0-4)\\l"
    assert nodes["AV2"] == "AV2\\lrefcount 1\\llist: AVC3 P1 [0-4)\\l"


@needs_dot
def test_the_seed_in_the_list_era_with_set_lines(tmp_path, capsys):
    from anonvma.scenario import parse_file
    fork = next(s for s in parse_file(str(SEED)).steps if str(s) == "P0 fork P1")
    nodes, edges, clusters = graph(tmp_path, capsys, SEED, "--line", fork.lineno)
    # 56 VMAs in each process: rw and rwx neighbours stay apart as VMAs...
    assert len(clusters["cluster_P0"] & {n for n in nodes if "_vma" in n}) == 56
    assert len(clusters["cluster_P1"] & {n for n in nodes if "_vma" in n}) == 56
    # ... but share an anon_vma (find_mergeable_anon_vma ignores rwx): the 48
    # of pages 0-192 have AV1, the 7 single pages and the big one their own;
    # 3.0 never reuses, so its fork gives each of the child's 56 a new one
    assert len(avs(nodes)) == 9 + 56
    assert {h for t, h, l in edges if l == "vma->anon_vma" and t.startswith("P0_vma")
            and int(t[len("P0_vma"):]) < 192} == {"AV1"}
    # the list layout: no parent, no counters but refcount, a list not a tree
    assert not any(l == "parent" for _, _, l in edges)
    assert len([1 for _, _, l in edges if l == "root"]) == 56
    label = nodes["AV1"].split("\\l")
    # a reference for itself and one from each child anon_vma it is the root of
    assert label[:3] == ["AV1  (root)", "refcount 49", "list: AVC1 P0 [0-4)"]
    assert len(label) == 2 + 96 + 1 and "num_children" not in nodes["AV1"]
    # the pages P0 wrote: 2 in most VMAs, the big one's 128 counted, not listed
    big = next(n for n in nodes if n.startswith("folios_") and nodes[n].startswith("128 folios"))
    assert nodes[big].endswith("and 120 more\\l")


@needs_dot
def test_svg_and_png_are_real_files(tmp_path, capsys):
    svg, png = tmp_path / "h.svg", tmp_path / "h.png"
    for out in (svg, png):
        assert main(["graph", str(SHARED / "a_fork_once.scn"), "--line", "4", "-o", str(out)]) == 0
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert {"AV1", "AV2", "AVC3", "P1_vma0", "AV2->AV1", "folios_AV1->AV1"} <= titles
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_dot_the_source_is_written_and_the_message_says_so(tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "h.svg"
    assert main(["graph", str(SHARED / "a_fork_once.scn"), "-o", str(out)]) == 2
    _, err = capsys.readouterr()
    assert err == (f"anonvma: -o {out}: Graphviz's 'dot' program is not installed (Debian: "
                   "apt-get install graphviz; 'make demo' and 'make test' install it as root); "
                   f"wrote the graph's source to {tmp_path / 'h.dot'}\n")
    assert not out.exists() and (tmp_path / "h.dot").read_text().startswith("digraph anon_vma {")


def test_the_dot_source_goes_to_stdout_without_o(capsys):
    assert main(["graph", str(SHARED / "a_fork_once.scn"), "--line", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph anon_vma {") and "AV2 -> AV1 [label=parent" in out


@pytest.mark.parametrize("argv, message", [
    (["--line", "1"], "anonvma: --line 1: line 1 of {f} is not an operation outside a "
                      "together block\n"),
    (["-o", "h.pdf"], "anonvma: -o h.pdf: write a file ending in .svg, .png or .dot\n"),
])
def test_bad_arguments(capsys, argv, message):
    f = SHARED / "a_fork_once.scn"
    assert main(["graph", str(f), *argv]) == 2
    assert capsys.readouterr() == ("", message.format(f=f))


def test_a_together_block_needs_a_line_before_it(capsys):
    assert main(["graph", str(SEED)]) == 2
    _, err = capsys.readouterr()
    assert err == (f"anonvma: {SEED}:301: a together block has no single state to draw: "
                   "give --line N with N before line 301\n")


@needs_dot
def test_the_demo_draws_the_seed_into_the_given_directory(tmp_path):
    from anonvma.demo import show_graph
    path = show_graph(tmp_path)
    assert path == tmp_path / "seed-hierarchy.svg"
    titles = {t.text for t in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}title")}
    assert "cluster_P1" in titles and "AV65" in titles and "AV66" not in titles
