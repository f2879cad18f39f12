"""The zoo's pictures: the hierarchy before and after CVE-2022-42703's
double reuse (B10), and B6's chain length against fork-loop iterations.

Both run written scenarios, not searches: a picture shows the mechanism of
the history notes (§2 B6, B10) on the buggy era beside the fixed one.
"""

from __future__ import annotations

from pathlib import Path

from ..checks.growth import growth_metric
from ..scenario import parse
from ..session import Config, Session

# History notes §2 B10: C1 exits, leaving B with no VMA and one child; C3
# reuses B, abandoning the leaf C in its chain; C4 then reuses C, which
# C2's VMA still uses: the double reuse.
DOUBLE_REUSE = """\
P0 mmap 0 4
P0 write 0
P0 fork C1
C1 write 1
C1 fork C2
C2 write 2
C1 exit
C2 fork C3
C3 write 3
C3 fork C4
"""
FORK_LOOP_ITERATIONS = 40


def fork_loop(iterations: int) -> str:
    """Daniel Forrest's reproducer (history notes §2 B6): each child forks
    the next generation and its parent exits."""
    lines = ["P0 mmap 0 4", "P0 write 0"]
    for i in range(iterations):
        lines += [f"P{i} fork P{i + 1}", f"P{i + 1} write 0", f"P{i} exit"]
    return "\n".join(lines) + "\n"


def _draw(text: str, era: str, line: int, title: str, path: Path) -> str:
    from ..viz.graph import hierarchy_graph, run_until
    kernel, sink = run_until(parse(text, "<zoo>"), era, line)
    g = hierarchy_graph(kernel, sink.name_of, title)
    try:
        path.write_bytes(g.pipe(format="svg"))
        return str(path)
    except Exception:               # no Graphviz 'dot': its source instead
        dot = path.with_suffix(".dot")
        dot.write_text(g.source)
        return str(dot)


def hierarchy_pictures(out_dir: Path, era: str = "v5.19") -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    last = len(DOUBLE_REUSE.splitlines())
    return {"hierarchy_before": _draw(DOUBLE_REUSE, era, last - 1,
                                      f"{era}: before C3 forks C4", out_dir / "B10-before.svg"),
            "hierarchy_after": _draw(DOUBLE_REUSE, era, last,
                                     f"{era}: C4 reuses C2's anon_vma", out_dir / "B10-after.svg")}


def chain_curve(era: str, iterations: int = FORK_LOOP_ITERATIONS) -> list[tuple[int, int, int]]:
    """(iteration, longest chain, live anon_vmas) after each generation."""
    text = fork_loop(iterations)
    machine = Session(parse(text, "<zoo>"), Config(variant=era, checks=False,
                                                   lockdep=False)).boot()
    points = []

    def after(step):
        if step.op == "exit":
            anon_vmas, _vmas, longest = growth_metric(machine.kernel)
            points.append((len(points) + 1, longest, anon_vmas))
    machine.kernel.trace.scenario_step.register(after)
    machine.run_steps()
    return points


def growth_plot(out_dir: Path, eras=("v3.18", "v4.0")) -> dict:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for era in eras:
        pts = chain_curve(era)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=f"{era}: longest chain")
        ax.plot([p[0] for p in pts], [p[2] for p in pts], linestyle="--",
                label=f"{era}: live anon_vmas")
    ax.set_xlabel("fork-loop iterations (child forks, parent exits)")
    ax.set_ylabel("anon_vmas")
    ax.set_title("B6: anon_vma hierarchy growth, one live process")
    ax.legend()
    path = out_dir / "B6-growth.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return {"growth_plot": str(path)}


def draw_for(bug, out_dir: Path) -> dict:
    d = out_dir / bug.id
    if bug.id == "B10":
        return hierarchy_pictures(d, bug.buggy)
    if bug.id == "B6":
        return growth_plot(d, (bug.buggy, bug.fixed))
    return {}
