"""The explorer tests' fixtures."""

import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).parents[2] / "docs"


@pytest.fixture
def nonowait(tmp_path, monkeypatch) -> str:
    """The variant spec of docs/your-patch.md's 6.18 that allocates the
    anon_vma_chain with GFP_KERNEL under the root lock: on
    reclaim_beside_fork.scn, PCT seed 2 finds its circular dependency
    through fs_reclaim in a few runs."""
    page = (DOCS / "your-patch.md").read_text()
    patches = dict(re.findall(r"```python\n# (\S+\.py)\n(.*?)```", page, re.S))
    (tmp_path / "nonowait.py").write_text(patches["nonowait.py"])
    monkeypatch.chdir(tmp_path)
    return "nonowait.py:NoNowait"
