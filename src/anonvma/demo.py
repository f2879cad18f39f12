"""``make demo``: what the model does, on screen, in a few seconds.

For a handful of scenarios it prints the scenario, the trace the model
produces (the same lines the live kernel produces, as the tests check), and
the anon_vma hierarchy after the scenario's last line, before the processes
still alive exit.
"""

from __future__ import annotations

import pathlib

from .checks.invariants import check_all_freed, check_invariants
from .kernel import Linux
from .scenario import Runner, parse
from .trace import TraceLines
from .viz.hierarchy import render_hierarchy

DEMOS = [
    ("fork, then COW: the child's anon_vma hangs below the parent's root", """\
P0 mmap 0 4
P0 write 0
P0 fork P1
P1 write 0
P1 write 1
"""),
    ("the reuse rule: once a middle process has gone, its anon_vma is reused", """\
P0 mmap 0 4
P0 write 0
P0 fork P1
P1 write 0
P1 fork P2
P1 exit
P2 write 0
P2 fork P3
P2 exit
P3 write 0
P3 fork P4
P3 exit
"""),
    ("merges: a forked VMA (chain of two) refuses what its parent accepts", """\
P0 mmap 0 8
P0 mprotect 4 4 rwx
P0 write 0
P0 fork P1
P1 write 4
P1 mprotect 4 4 rw
P1 maps
P0 write 4
P0 mprotect 4 4 rw
P0 maps
"""),
    ("mremap: a faulted VMA moves away and back next to an unfaulted one", """\
P0 mmap 4 4 rw
P0 write 4
P0 mremap 4 4 4 to 20
P0 mmap 0 4 rw
P0 mremap 20 4 4 to 4
P0 maps
"""),
]


def show(title: str, text: str) -> bool:
    kernel = Linux()
    runner = Runner(kernel)
    sink = TraceLines(kernel)
    sc = parse(text, title)
    print(f"=== {title}")
    print("".join(f"    {line}\n" for line in text.splitlines()), end="")
    problems = []
    for step in sc.steps:
        runner.run_step(sc, step)
        problems.extend(check_invariants(kernel))
    print("  trace:")
    for line in sink.lines:
        print(f"    {line}")
    print("  anon_vma hierarchy after the last line:")
    for line in render_hierarchy(kernel, sink.name_of):
        print(f"    {line}")
    runner.exit_all()
    problems.extend(check_all_freed(kernel))
    print(f"  checks: {'all invariants held; everything freed at exit' if not problems else problems}")
    print()
    return not problems


def demo() -> int:
    print("anonvma: the Linux 6.18 anonymous reverse map, executable\n")
    ok = all([show(title, text) for title, text in DEMOS])
    shared = pathlib.Path(__file__).resolve().parents[2] / "tests" / "scenarios"
    if shared.is_dir():
        from .model import run_model
        from .scenario import parse_file
        cases = sorted(shared.glob("*/*.scn"))
        same = sum(run_model(parse_file(str(p))).lines ==
                   [l for l in p.with_suffix(".expected").read_text().splitlines() if l]
                   for p in cases)
        print(f"live-kernel traces reproduced: {same} of {len(cases)} scenarios in tests/scenarios/")
    return 0 if ok else 1
