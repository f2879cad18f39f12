"""Shared helpers: a kernel model with processes driven by scenario lines."""

from __future__ import annotations

import pytest

from anonvma.kernel import Linux
from anonvma.scenario import BASE, Runner, parse
from anonvma.trace import TraceLines

class Machine:
    """A kernel plus a runner, driven line by line from a test:
    ``m.do("P0 mmap 0 4")`` runs scenario lines (the session runs whole
    files; a test that pokes at the kernel between lines needs this)."""

    def __init__(self, variant=Linux, **config):
        self.kernel = variant(**config)
        self.runner = Runner(self.kernel)
        self.sink = TraceLines(self.kernel)
        self.reports = []
        self.kernel.trace.report.register(lambda kind, text: self.reports.append(text))

    def do(self, text: str) -> None:
        alive = {name for name, proc in self.runner.procs.items() if not proc.dead}
        sc = parse(text, "<test>", live=alive)
        for step in sc.steps:
            self.runner.run_line(step)

    def task(self, name: str):
        return self.runner.procs[name].task

    def vma(self, name: str, page: int):
        return self.task(name).mm.mm_mt.lookup(BASE + page * 4096)

    def folio(self, name: str, page: int):
        pte = self.task(name).mm.pgd.get((BASE >> 12) + page)
        return None if pte is None else pte.folio


@pytest.fixture
def machine():
    """A fresh 6.18 model with P0 alive."""
    return Machine()


@pytest.fixture
def make_machine():
    """A factory, for tests that need several machines or another variant."""
    return Machine
