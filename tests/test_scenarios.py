"""Every scenario with a live-kernel trace produces exactly that trace.

The ``.expected`` files were recorded on a live 6.18 kernel (``shared/`` by
the project's first oracle, ``kernel/`` by ``anonvma trace --kernel``); the
model is judged against them, never against its own output.
"""

from __future__ import annotations

import pathlib

import pytest

from anonvma.session import Config, Session
from anonvma.scenario import parse_file

CASES = sorted((pathlib.Path(__file__).parent / "scenarios").glob("*/*.scn"))


@pytest.mark.parametrize("scn", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_model_matches_live_kernel(scn):
    expected = [l for l in scn.with_suffix(".expected").read_text().splitlines() if l]
    result = Session(parse_file(str(scn)), Config()).run()
    events = [l for l in expected if _is_event(l)]
    others = [l for l in expected if not _is_event(l)]
    assert result.events == events
    assert result.others == others
    assert result.problems == []


def _is_event(line: str) -> bool:
    token = line.split()[1]
    return token[0] in "+-" or (token.startswith("!AV") and ":" in token)
