"""The invariant checker holds on correct states and catches each kind of
corruption a buggy kernel change could leave behind."""

from __future__ import annotations

import pytest

from anonvma.checks.invariants import check_all_freed, check_invariants

SETUP = "P0 mmap 0 8\nP0 write 0\nP0 write 5\nP0 fork P1\nP1 write 0\nP1 mprotect 2 2 r"


def corrupted(machine, mutate):
    machine.do(SETUP)
    assert check_invariants(machine.kernel) == []
    mutate(machine)
    return check_invariants(machine.kernel)


@pytest.mark.parametrize("label, mutate", [
    ("I-10", lambda m: setattr(m.vma("P0", 0).anon_vma, "num_active_vmas", 7)),
    ("I-11", lambda m: setattr(m.vma("P0", 0).anon_vma.root, "num_children", 1)),
    ("I-8a", lambda m: setattr(m.vma("P1", 0).anon_vma.root, "refcount", 1)),
    ("I-2", lambda m: setattr(m.vma("P1", 0), "anon_vma", None)),
    # pointing the parent's page at the child's anon_vma hides the parent from rmap
    ("I-6", lambda m: setattr(m.folio("P0", 0), "mapping", m.vma("P1", 0).anon_vma)),
    ("I-6", lambda m: setattr(m.folio("P0", 5), "_mapcount", 3)),
    ("I-3", lambda m: m.vma("P1", 0).anon_vma_chain.reverse()),
    ("I-4", lambda m: setattr(m.vma("P0", 0), "vm_pgoff", m.vma("P0", 0).vm_pgoff + 1)),
    ("I-8", lambda m: setattr(m.vma("P0", 0).anon_vma, "freed", True)),
])
def test_checker_catches(machine, label, mutate):
    problems = corrupted(machine, mutate)
    assert any(p.startswith(label) for p in problems), problems


def test_leak_check(machine):
    machine.do(SETUP + "\nP1 exit\nP0 exit")
    assert check_all_freed(machine.kernel) == []
    machine.kernel.anon_vma_alloc()
    assert check_all_freed(machine.kernel) == [
        "leak: 1 anon_vma objects still allocated after every process exited"]


# -- the list era (2.6.34 - 3.6): anon_vma->head, no counters ------------------------------

def _list_era(make_machine):
    from anonvma.variants.v3_0 import Linux_3_0
    m = make_machine(Linux_3_0)
    m.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 1")
    assert check_invariants(m.kernel) == []
    return m


LIST_CORRUPTIONS = [
    ("I-1", lambda m: m.vma("P1", 0).anon_vma.head.clear()),
    ("I-1", lambda m: m.vma("P1", 0).anon_vma_chain.append(m.vma("P1", 0).anon_vma_chain[0])),
    ("I-2", lambda m: setattr(m.vma("P1", 0), "anon_vma", None)),
    ("I-3", lambda m: m.vma("P1", 0).anon_vma_chain.reverse()),
    ("I-6", lambda m: setattr(m.folio("P1", 1), "_mapcount", 3)),
    ("I-6", lambda m: m.vma("P1", 0).anon_vma.head.pop(next(iter(m.vma("P1", 0).anon_vma.head)))),
    ("I-8", lambda m: setattr(m.vma("P1", 0).anon_vma, "freed", True)),
    ("I-8a", lambda m: setattr(m.vma("P0", 0).anon_vma, "refcount", 7)),
    ("I-9", lambda m: setattr(m.vma("P1", 0), "anon_vma", m.vma("P0", 0).anon_vma)),
]


@pytest.mark.parametrize("label, mutate", LIST_CORRUPTIONS,
                         ids=[f"{label}-{i}" for i, (label, _m) in enumerate(LIST_CORRUPTIONS)])
def test_the_list_era_checker_reports_each_corruption(make_machine, label, mutate):
    m = _list_era(make_machine)
    mutate(m)
    problems = check_invariants(m.kernel)
    assert any(p.startswith(label) for p in problems), problems
