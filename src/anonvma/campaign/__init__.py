"""Campaigns: many explorations, their failures told apart, what they reached.

    plan = make_plan(["race.scn"], generate=4, variants=["v3.0-rc2", "v3.0"],
                     strategies=["random", "pct"], seeds=2, runs=200)
    summary = run_campaign(plan, "out", backend=Processes(jobs=2))

A campaign is the product of programs (scenario files, and concurrent
programs generated from seeds), variants, strategies and seeds; each
combination is one *exploration* (``anonvma.explore.explore``, with its
budget of runs and its shrinking).  An exploration runs wherever the
backend puts it (``backends``: in this process, in a pool of processes, on
a Ray cluster) and carries everything with it: the scenario's text goes out,
the result, the saved failure's files and the coverage come back, so a
worker needs no shared file system.

The output directory is the campaign's state: ``plan.json`` (what to
run), ``jobs/ID.json`` (one file per finished exploration, written
atomically), ``failures/ID/`` (a failure's scenario, schedule and report,
which replay it), then ``summary.json`` and ``index.html``.  Running the
campaign again on the same directory (or ``--resume DIR``) runs only the
explorations without a job file: an interrupt loses at most the ones that
were running.

Failures are deduplicated by a signature: the report's kind and the top
kernel frames of its first stack trace (past the scheduler and the lock
primitives, which every deadlock shares), or for a report without a stack,
its headline with the numbers taken out.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from .coverage import Covered, empty, merge_into, to_json

PLAN_VERSION = 1
SIGNATURE_FRAMES = 4
# deterministic strategies: one seed is all they have
UNSEEDED = ("sequential", "dfs")
# frames that every report on a lock or a wait shares
_GENERIC_FRAME = re.compile(
    r"^(__schedule|schedule\w*|\w*lock_slowpath|_*mutex_lock\w*|_*down_(read|write)\w*|"
    r"mmap_\w*lock\w*|_*raw_spin_lock\w*|_*spin_lock\w*|lock_acquire|rwsem_\w+|"
    r"_*might_sleep|wait_for)$")
_FRAME = re.compile(r"^\s+([A-Za-z_][A-Za-z0-9_.]*)(\+0x[0-9a-f/]+)?\s*$")
_STACK_START = ("Call Trace:", "stack backtrace:")


class CampaignError(ValueError):
    """The plan or the output directory cannot be used (a message for the user)."""


def signature(kind: str, text: str) -> str:
    """``kind: frame < frame < ...`` from the first stack of the report."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() in _STACK_START), None)
    frames: list[str] = []
    if start is not None:
        for line in lines[start + 1:]:
            if line.strip() in ("<TASK>", ""):
                continue
            m = _FRAME.match(line)
            if m is None:
                break
            if not _GENERIC_FRAME.match(m.group(1)):
                frames.append(m.group(1))
            if len(frames) == SIGNATURE_FRAMES:
                break
    if frames:
        return f"{kind}: " + " < ".join(frames)
    headline = next((line.strip(" =-[]") for line in lines if line.strip(" =-[]")), "")
    return f"{kind}: " + re.sub(r"\d+", "N", headline)


# -- the plan ---------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    explorations: tuple[dict, ...]      # the specs explore_job runs
    options: dict

    def to_json(self) -> dict:
        return {"version": PLAN_VERSION, "options": self.options,
                "explorations": list(self.explorations)}


def _job_id(name: str, variant: str | None, strategy: str, seed: int) -> str:
    v = re.sub(r"[^A-Za-z0-9.+-]+", "_", variant or "own")
    return f"{name}-{v}-{strategy}-{seed}"


def make_plan(files, generate: int = 0, gen_seed: int = 0, variants=(None,),
              strategies=("random", "pct"), seeds: int = 1, runs: int = 200,
              shrink: bool = True, coverage: bool = True) -> Plan:
    """Every combination of the programs (``files``, and ``generate``
    concurrent programs from seeds ``gen_seed``...; every second one under
    memory pressure, so that reclaim runs beside the rest) with the
    variants, the strategies and the seeds."""
    from ..explore.programs import Choices, generate_concurrent
    from ..explore.strategies import STRATEGIES
    from ..scenario import parse, parse_file
    from ..variants import get_variant
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise CampaignError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
    for variant in variants:
        if variant is not None:
            get_variant(variant)
    programs: list[tuple[str, str]] = []
    for f in files:
        parse_file(str(f))              # a bad file is a message before anything runs
        programs.append((Path(f).stem, Path(f).read_text()))
    for seed in range(gen_seed, gen_seed + generate):
        text = generate_concurrent(Choices(seed), pressure=seed % 2 == 1)
        parse(text, f"gen-{seed}.scn")
        programs.append((f"gen-{seed}", text))
    names = [name for name, _ in programs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise CampaignError(f"two programs are called {dup!r}: give files of different names")
    specs = []
    for name, text in programs:
        for variant in variants:
            for strategy in strategies:
                for seed in range(1 if strategy in UNSEEDED else seeds):
                    specs.append({"id": _job_id(name, variant, strategy, seed), "name": name,
                                  "text": text, "variant": variant, "strategy": strategy,
                                  "seed": seed, "runs": runs, "shrink": shrink,
                                  "coverage": coverage})
    if not specs:
        raise CampaignError("nothing to explore: give scenario files or --generate N")
    return Plan(tuple(specs), {"runs": runs, "shrink": shrink, "coverage": coverage})


# -- one exploration, wherever it runs ------------------------------------------------

def explore_job(spec: dict) -> dict:
    """Run one exploration from its spec; everything it found, as JSON."""
    from ..explore import explore
    from ..scenario import ScenarioError, parse
    from ..variants import UnknownVariant
    start = time.perf_counter()
    out = {"id": spec["id"], "host": os.uname().nodename, "pid": os.getpid()}
    covered: list[Covered] = []

    def observe(session):
        covered.append(Covered(session))
        return covered[-1]

    with tempfile.TemporaryDirectory(prefix="anonvma-campaign-") as tmp:
        path = Path(tmp) / f"{spec['name']}.scn"
        path.write_text(spec["text"])
        try:
            concurrent = parse(spec["text"], str(path)).concurrent
            r = explore(path, strategy=spec["strategy"], seed=spec["seed"],
                        budget_runs=spec["runs"] if concurrent else 1,
                        out_dir=Path(tmp) / "saved", variant=spec["variant"],
                        minimise=spec["shrink"], progress=False,
                        observe=observe if spec["coverage"] else None)
        except (ScenarioError, UnknownVariant, ValueError) as e:
            # a worker without the patch file, a program the era rejects
            out.update(status="error", error=str(e), seconds=time.perf_counter() - start)
            return out
        out.update(status="fail" if r.failure else "pass", runs=r.runs,
                   exhausted=r.exhausted, search_seconds=r.seconds,
                   seconds=time.perf_counter() - start,
                   coverage=to_json(covered[-1].finish()) if covered else None)
        if r.failure is not None:
            saved = Path(r.saved["dir"])
            out["failure"] = {"kind": r.failure.kind, "headline": r.failure.headline(),
                              "signature": signature(r.failure.kind, r.failure.text),
                              "text": r.failure.text, "run": r.failing_run,
                              "decisions": len(r.schedule),
                              "deterministic": r.saved.get("deterministic"),
                              "files": {p.name: p.read_text() for p in saved.iterdir()}}
    return out


# -- the campaign's directory -----------------------------------------------------------

def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def open_campaign(out_dir, plan: Plan | None) -> Plan:
    """Create ``out_dir`` for ``plan``, or take up the campaign in it:
    with ``plan`` None (``--resume``), or the same plan again."""
    d = Path(out_dir)
    plan_file = d / "plan.json"
    if plan_file.exists():
        try:
            saved = json.loads(plan_file.read_text())
            old = Plan(tuple(saved["explorations"]), saved["options"])
        except (ValueError, KeyError, TypeError):
            raise CampaignError(f"{plan_file}: not a campaign's plan (remove the directory "
                                "or give another one)") from None
        if plan is not None and plan.to_json() != old.to_json():
            raise CampaignError(f"{d} holds another campaign: give another output directory, "
                                f"or --resume {d} to finish that one")
        return old
    if plan is None:
        raise CampaignError(f"--resume {d}: no campaign there (no plan.json)")
    if d.exists() and any(d.iterdir()):
        raise CampaignError(f"{d} is not empty and holds no campaign: give a new directory")
    try:
        (d / "jobs").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CampaignError(f"{d}: cannot create the directory ({e.strerror})") from None
    _write_atomic(plan_file, json.dumps(plan.to_json(), indent=1))
    return plan


def _replay_command(d: Path, spec: dict) -> str:
    fdir = d / "failures" / spec["id"]
    scn = next((p for p in sorted(fdir.glob("*.scn"))), fdir / f"{spec['name']}.scn")
    return shlex.join(["anonvma", "replay", str(scn), str(fdir / "schedule.json")]
                      + (["--variant", spec["variant"]] if spec["variant"] else []))


def save_result(d: Path, spec: dict, result: dict) -> None:
    """A finished exploration: its failure's files, then its job file (the
    mark that it is done, written last)."""
    failure = result.get("failure")
    if failure is not None:
        fdir = d / "failures" / spec["id"]
        fdir.mkdir(parents=True, exist_ok=True)
        for name, text in failure.pop("files").items():
            (fdir / name).write_text(text)
        failure["replay"] = _replay_command(d, spec)
        failure["dir"] = str(fdir)
    (d / "jobs").mkdir(exist_ok=True)
    _write_atomic(d / "jobs" / f"{spec['id']}.json", json.dumps(result, indent=1))


def done_ids(d: Path) -> set[str]:
    return {p.stem for p in (d / "jobs").glob("*.json")}


def run_campaign(plan: Plan, out_dir, backend, budget_seconds: float | None = None,
                 on_result=None) -> dict:
    """Run the explorations of ``plan`` not yet done in ``out_dir`` on
    ``backend``, at most ``budget_seconds`` of starting new ones; then
    summarise the whole directory.  ``on_result(spec, result)`` after each."""
    d = Path(out_dir)
    done = done_ids(d)
    pending = deque(s for s in plan.explorations if s["id"] not in done)
    start = time.perf_counter()
    inflight: dict = {}
    with backend:
        while pending or inflight:
            while pending and len(inflight) < backend.slots and not (
                    budget_seconds is not None and time.perf_counter() - start >= budget_seconds):
                spec = pending.popleft()
                inflight[backend.submit(spec)] = spec
            if not inflight:
                break
            handle, result = backend.wait()
            spec = inflight.pop(handle)
            save_result(d, spec, result)
            if on_result is not None:
                on_result(spec, result)
    summary = summarise(plan, d, seconds=time.perf_counter() - start, backend=backend.describe())
    from .report import write_html
    _write_atomic(d / "summary.json", json.dumps(summary, indent=1))
    write_html(summary, d / "index.html")
    return summary


def summarise(plan: Plan, d: Path, seconds: float = 0.0, backend: str = "") -> dict:
    """Every job file of the plan, failures grouped by signature, coverage
    added up."""
    results = {}
    for spec in plan.explorations:
        f = d / "jobs" / f"{spec['id']}.json"
        if f.exists():
            results[spec["id"]] = (spec, json.loads(f.read_text()))
    unique: dict[str, dict] = {}
    coverage = empty()
    runs = 0
    for spec, result in results.values():
        runs += result.get("runs", 0)
        if result.get("coverage"):
            merge_into(coverage, result["coverage"])
        failure = result.get("failure")
        if failure is None:
            continue
        entry = unique.setdefault(failure["signature"], {
            "signature": failure["signature"], "kind": failure["kind"],
            "headline": failure["headline"], "text": failure["text"],
            "replay": failure["replay"], "first": spec["id"], "explorations": []})
        entry["explorations"].append(spec["id"])
    jobs = []
    for spec in plan.explorations:
        result = results.get(spec["id"], (None, {}))[1]
        jobs.append({"id": spec["id"], "program": spec["name"], "variant": spec["variant"],
                     "strategy": spec["strategy"], "seed": spec["seed"],
                     "status": result.get("status", "pending"), "runs": result.get("runs"),
                     "seconds": round(result["seconds"], 3) if "seconds" in result else None,
                     "signature": (result.get("failure") or {}).get("signature"),
                     "error": result.get("error")})
    return {
        "explorations": len(plan.explorations),
        "done": len(results),
        "pending": len(plan.explorations) - len(results),
        "failed": sum(1 for _, r in results.values() if r["status"] == "fail"),
        "errors": sum(1 for _, r in results.values() if r["status"] == "error"),
        "runs": runs,
        "seconds": round(seconds, 3),
        "backend": backend,
        "unique_failures": sorted(unique.values(), key=lambda u: (u["kind"], u["signature"])),
        "coverage": to_json(coverage),
        "jobs": jobs,
        "options": plan.options,
    }


__all__ = ["CampaignError", "Plan", "explore_job", "make_plan", "open_campaign", "run_campaign",
           "signature", "summarise"]
