"""Schedule files: a recorded choice list, with what is needed to trust it.

``schedule.json`` beside the saved scenario holds the choices and, for the
reader, how they were found and what failed.  Replay needs only the
choices; the rest is documentation (and the determinism check's baseline).
"""

from __future__ import annotations

import json
from pathlib import Path

FORMAT = "anonvma-schedule/1"


def save_schedule(path, choices, **info) -> None:
    data = {"format": FORMAT, "choices": list(choices)}
    data.update(info)
    Path(path).write_text(json.dumps(data, indent=1) + "\n")


def load_schedule(path) -> list[int]:
    """The choice list of a schedule file; a bare JSON list is accepted too."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}:0: error: cannot read the schedule: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: error: not a schedule file ({e.msg})") from None
    choices = data if isinstance(data, list) else data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not all(isinstance(c, int) for c in choices):
        raise ValueError(f"{path}:1: error: expected a list of integers under \"choices\"")
    return choices
