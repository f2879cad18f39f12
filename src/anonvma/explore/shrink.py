"""Shrinking a failing scenario: delete lines while it still fails.

The line-level counterpart of the schedule shrinker in ``runner``: chunks of
halves, then quarters, down to single lines, as in delta debugging.  It is
shared by the explorer (a scenario that still deadlocks under its schedule)
and the live-kernel comparison (a scenario that still differs).
"""

from __future__ import annotations

import time

from ..scenario import ScenarioError, parse


def delete_lines(text: str, still_fails, max_runs: int | None = None,
                 max_seconds: float | None = None) -> str:
    """The smallest scenario reached by deleting operation lines of ``text``
    (``set`` lines and comments stay out of it) for which
    ``still_fails(scenario, text)`` holds; candidates that do not parse are
    skipped.  Stops early once ``max_runs`` tries or ``max_seconds`` are spent."""
    lines = text.splitlines()
    keep = [i for i, line in enumerate(lines) if line.split()[:1] == ["set"]]
    body = [i for i, line in enumerate(lines) if i not in keep and line.split("#")[0].strip()]
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    runs = 0
    best = text

    def budget_left() -> bool:
        return ((max_runs is None or runs < max_runs)
                and (deadline is None or time.perf_counter() < deadline))

    chunk = max(1, len(body) // 2)
    while chunk >= 1 and budget_left():
        i = 0
        while i < len(body) and budget_left():
            candidate = body[:i] + body[i + chunk:]
            cand = "\n".join(lines[j] for j in sorted(keep + candidate)) + "\n"
            runs += 1
            try:
                sc = parse(cand, "<shrink>")
            except ScenarioError:
                sc = None
            if candidate and sc is not None and still_fails(sc, cand):
                body, best = candidate, cand
            else:
                i += chunk
        chunk //= 2
    return best
