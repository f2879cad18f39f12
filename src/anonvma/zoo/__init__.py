"""``anonvma zoo``: the historical anon_vma bugs, found from cold.

    anonvma zoo                         # the bugs: id, title, commits, what breaks
    anonvma zoo run B10 --seconds 60    # search the buggy era, then the fixed one
    anonvma zoo run all                 # the table
    anonvma zoo replay FILE [SCHEDULE]  # a reproducer, with the zoo's detectors

``run`` searches the bug's buggy era with generated programs (``cold``),
prints the time to the first report, the report and the shrunk scenario
with the command that replays it, then searches the fixed era with the same
seed and budget, which must report nothing.  Reports that show the
signature of another catalogued bug present in the era searched
(``catalogue.identify``) are passed over and named: B6's fixed era 4.0
has B10, which the same fix brought in.  The shrunk scenario, its
schedule and, for the growth and reuse bugs, the pictures are written to
the output directory.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ..explore.schedule import save_schedule
from .catalogue import BUGS, BY_ID, Bug, identify
from .cold import Found, Skip, search


@dataclass
class Outcome:
    bug: Bug
    found: Found | None         # on the buggy era
    programs: int
    fixed_found: Found | None   # on the fixed era: None is the fix holding
    fixed_programs: int
    files: dict
    # other catalogued bugs present in each era, whose reports the searches
    # passed over: bug id -> (seconds, programs, kind, report)
    passed: dict = field(default_factory=dict)
    fixed_passed: dict = field(default_factory=dict)

    @property
    def found_as(self) -> Bug | None:
        """The catalogued bug the buggy era's report shows."""
        return self.found and identify(self.bug.buggy, self.found.kind, self.found.report,
                                       first=self.bug)


def others_in(bug: Bug, era: str) -> Skip:
    """Pass over the reports of catalogued bugs other than ``bug`` present
    in ``era`` (a report that shows ``bug``'s signature too is ``bug``'s)."""
    def label(kind, text):
        if bug.in_era(era) and bug.shows(kind, text):
            return None
        other = identify(era, kind, text)
        return other.id if other is not None and other is not bug else None
    return Skip(label)


def save_found(bug: Bug, found: Found, out_dir: Path) -> dict:
    """The shrunk scenario (with its era set), its schedule if it has one,
    and the report: the files that replay the bug."""
    d = out_dir / bug.id
    d.mkdir(parents=True, exist_ok=True)
    scn = d / f"{bug.id}.scn"
    head = [f"# {bug.id}: {bug.title}", f"# found from cold on {bug.buggy}: {found.kind}",
            f"set variant {bug.buggy}"]
    # the head moves every line down: fail_nth LINE:N must follow
    body = re.sub(r"^set fail_nth (\d+):", lambda m: f"set fail_nth {int(m[1]) + len(head)}:",
                  found.shrunk, flags=re.M)
    scn.write_text("\n".join(head) + "\n" + body)
    (d / "report.txt").write_text(found.report)
    files = {"scenario": str(scn)}
    if found.shrunk_schedule:
        sched = d / "schedule.json"
        save_schedule(sched, found.shrunk_schedule, strategy={"name": "zoo"},
                      variant=bug.buggy)
        files["schedule"] = str(sched)
        files["replay"] = shlex.join(["anonvma", "zoo", "replay", str(scn), str(sched)])
    else:
        files["replay"] = shlex.join(["anonvma", "zoo", "replay", str(scn)])
    return files


def run_bug(bug: Bug, seconds: float, seed: int, out_dir: Path, pictures: bool = True) -> Outcome:
    skip = others_in(bug, bug.buggy)
    found, n = search(bug.buggy, seconds, seed, skip=skip)
    files = save_found(bug, found, out_dir) if found is not None else {}
    if pictures:
        from .pictures import draw_for
        files.update(draw_for(bug, out_dir))
    fixed_skip = others_in(bug, bug.fixed)
    fixed_found, fixed_n = search(bug.fixed, seconds, seed, shrink=False, skip=fixed_skip)
    return Outcome(bug, found, n, fixed_found, fixed_n, files, skip.seen, fixed_skip.seen)


def passed_over(passed: dict, era: str) -> list[str]:
    """One line per catalogued bug whose reports a search passed over."""
    return [f"{bug_id} (catalogued, present in {era}): {kind} after {t:.1f} s, "
            f"program {n}, passed over" for bug_id, (t, n, kind, _text) in passed.items()]


def print_list(out) -> None:
    for bug in BUGS:
        print(f"{bug.id:13} {bug.title}", file=out)
        print(f"{'':13} introduced {bug.introduced}; fixed {bug.fixed_by}; "
              f"eras {bug.buggy} -> {bug.fixed}", file=out)
        print(f"{'':13} breaks: {bug.breaks}", file=out)
        shows = ", ".join(f"{k} {t!r}" if t else k for k, t in bug.signature)
        print(f"{'':13} reports: {shows}; present {bug.present[0]} up to {bug.present[1]}",
              file=out)


def print_outcome(o: Outcome, seconds: float, out) -> None:
    bug = o.bug
    print(f"== {bug.id}: {bug.title}", file=out)
    if o.found is None:
        print(f"{bug.buggy}: nothing found in {seconds:g} s ({o.programs} programs)", file=out)
    else:
        f = o.found
        print(f"{bug.buggy}: first report after {f.seconds:.1f} s, program {f.programs} "
              f"({'concurrent' if f.program.concurrent else 'plain'}; swarm {f.program.swarm})",
              file=out)
        as_ = o.found_as
        print(f"{f.kind}: {'the signature of ' + as_.id if as_ else 'no catalogued signature'}",
              file=out)
        out.write(f.report if f.report.endswith("\n") else f.report + "\n")
        print("shrunk scenario:", file=out)
        out.write("".join(f"  {ln}\n" for ln in f.shrunk.splitlines()))
        print(f"replay: {o.files['replay']}", file=out)
    for line in passed_over(o.passed, bug.buggy):
        print(f"{bug.buggy}: {line}", file=out)
    for line in passed_over(o.fixed_passed, bug.fixed):
        print(f"{bug.fixed}: {line}", file=out)
    if o.fixed_found is None:
        print(f"{bug.fixed}: nothing in {seconds:g} s ({o.fixed_programs} programs, "
              "same seed)", file=out)
    else:
        print(f"{bug.fixed}: REPORTED after {o.fixed_found.seconds:.1f} s: "
              f"{o.fixed_found.kind}", file=out)
        out.write(o.fixed_found.report)
    for what in ("hierarchy_before", "hierarchy_after", "growth_plot"):
        if what in o.files:
            print(f"{what.replace('_', ' ')}: {o.files[what]}", file=out)


def print_table(outcomes: list[Outcome], out) -> None:
    print(f"{'bug':13} {'buggy era':12} {'first report':>12} {'kind':10} {'is':13} "
          f"{'fixed era':10} {'fixed':8}", file=out)
    for o in outcomes:
        found = f"{o.found.seconds:.1f} s" if o.found else "not found"
        kind = o.found.kind if o.found else "-"
        as_ = (o.found_as.id if o.found_as else "uncatalogued") if o.found else "-"
        fixed = "clean" if o.fixed_found is None else f"REPORTS {o.fixed_found.kind}"
        if o.fixed_passed:
            fixed += f" (has {', '.join(o.fixed_passed)}: catalogued, present)"
        print(f"{o.bug.id:13} {o.bug.buggy:12} {found:>12} {kind:10} {as_:13} "
              f"{o.bug.fixed:10} {fixed}", file=out)


__all__ = ["BUGS", "BY_ID", "Bug", "Outcome", "others_in", "print_list", "print_outcome", "print_table",
           "run_bug"]
