"""Schedules: the typed record of every decision a run made, and the
``schedule.json`` files that carry them.

A decision is either a ``Pick`` (which of several runnable tasks ran: the
pid, the runnable set, the task that was running) or a ``Draw`` (a modelled
random choice: the value, and how many there were to choose from).  The
list of them is a run's schedule: ``Replay`` repeats the run from it, the
shrinker edits it, and a replay that finds the program at a different
decision than recorded knows exactly where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

FORMAT = "anonvma-schedule/2"
MAX_SCHEDULE_BYTES = 64 << 20


class Pick(NamedTuple):
    """Task ``pid`` ran, out of ``runnable`` (pids in spawn order), at a
    point where ``current`` (a pid, or None at the start) was running.
    A named tuple, not a frozen dataclass: a run makes one per decision,
    and a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__`` (three times the cost of a tuple's)."""

    pid: int
    runnable: tuple
    current: int | None

    @property
    def preempting(self) -> bool:
        """Another task ran although the current one could have gone on."""
        return self.current in self.runnable and self.pid != self.current

    def to_json(self) -> dict:
        return {"pick": self.pid, "runnable": list(self.runnable), "current": self.current}


@dataclass(frozen=True, slots=True)
class Draw:
    """A modelled random choice: ``value`` out of range(n)."""

    value: int
    n: int

    def to_json(self) -> dict:
        return {"draw": self.value, "n": self.n}


def preemptions(decisions) -> int:
    return sum(1 for d in decisions if isinstance(d, Pick) and d.preempting)


def save_schedule(path, decisions, **info) -> None:
    """One decision per line, then what the schedule is about."""
    head = json.dumps({"format": FORMAT})[:-1]
    body = ",\n".join("  " + json.dumps(d.to_json()) for d in decisions)
    tail = "".join(f",\n \"{k}\": {json.dumps(v)}" for k, v in info.items())
    Path(path).write_text(f"{head},\n \"decisions\": [\n{body}\n ]{tail}\n}}\n")


class ScheduleError(ValueError):
    """A schedule file that cannot be used: ``FILE:LINE: error: ...``."""


def _decision(path, i: int, item):
    def bad(why):
        return ScheduleError(f"{path}:1: error: decision {i}: {why}")

    def integer(value, what):
        if type(value) is not int or not 0 <= value < 1 << 31:
            raise bad(f"{what} must be a whole number from 0 to 2^31-1, not {value!r}")
        return value

    if not isinstance(item, dict):
        raise bad('expected {"pick": PID, "runnable": [...], "current": PID} or '
                  '{"draw": N, "n": N}')
    if "pick" in item:
        runnable = item.get("runnable")
        if not isinstance(runnable, list):
            raise bad('"runnable" must be a list of pids')
        current = item.get("current")
        return Pick(integer(item["pick"], "pick"), tuple(integer(p, "a pid") for p in runnable),
                    None if current is None else integer(current, "current"))
    if "draw" in item:
        return Draw(integer(item["draw"], "draw"), integer(item.get("n"), "n"))
    raise bad('a decision is {"pick": ...} or {"draw": ...}')


def load_schedule(path) -> tuple[list, dict]:
    """The decisions of a schedule file and its other fields (how it was
    found, the variant, the scenario it belongs to)."""
    p = Path(path)
    try:
        if p.is_file() and p.stat().st_size > MAX_SCHEDULE_BYTES:
            raise ScheduleError(f"{path}:0: error: larger than {MAX_SCHEDULE_BYTES >> 20} MiB: "
                                "not a schedule file")
        if not p.is_file():
            raise ScheduleError(f"{path}:0: error: not a regular file: give the schedule.json "
                                "that explore saved")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScheduleError(f"{path}:0: error: cannot read the schedule: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScheduleError(f"{path}:{e.lineno}: error: not a schedule file ({e.msg})") from None
    except RecursionError:
        raise ScheduleError(f"{path}:1: error: not a schedule file (nested too deeply)") from None
    if not isinstance(data, dict) or "format" not in data:
        raise ScheduleError(f"{path}:1: error: not a schedule file: expected an object with "
                            f'"format": "{FORMAT}"')
    if data["format"] != FORMAT:
        raise ScheduleError(
            f"{path}:1: error: schedule format {data['format']!r} is not {FORMAT!r}: files of "
            "format anonvma-schedule/1 recorded bare choices, which cannot be checked against "
            "the run; explore the scenario again to record a new one")
    decisions = data.get("decisions")
    if not isinstance(decisions, list):
        raise ScheduleError(f'{path}:1: error: expected a list under "decisions"')
    return [_decision(path, i, item) for i, item in enumerate(decisions)], \
        {k: v for k, v in data.items() if k not in ("format", "decisions")}
