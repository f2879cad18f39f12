"""Shared helpers: a kernel model with processes driven by scenario lines."""

from __future__ import annotations

import pytest

from anonvma.kernel import Linux
from anonvma.scenario import BASE, parse
from anonvma.session import Config, Session

class Machine:
    """A booted session, driven line by line from a test:
    ``m.do("P0 mmap 0 4")`` runs scenario lines, and the test pokes at the
    kernel between them.  ``config`` are ``set`` keys (memory, swap...)."""

    def __init__(self, variant=Linux, **config):
        settings = parse("".join(f"set {key} {value}\n" for key, value in config.items()),
                         "<test>")
        self.machine = Session(settings, Config(variant=variant, lockdep=False,
                                                checks=False)).boot()
        self.kernel = self.machine.kernel
        self.runner = self.machine.runner
        self.sink = self.machine.trace_lines

    @property
    def reports(self) -> list[str]:
        return [text for _kind, text in self.machine.reports]

    def do(self, text: str) -> None:
        alive = {name for name, proc in self.runner.procs.items() if not proc.dead}
        for step in parse(text, "<test>", live=alive).steps:
            self.machine.run_step(step)

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
