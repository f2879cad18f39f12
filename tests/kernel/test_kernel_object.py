"""The kernel object's instance dict stays small enough for CPython to
share its keys: past SHARED_KEYS_MAX_SIZE (30 in 3.11) the dict becomes an
ordinary one and no method call on the kernel is specialised any more,
which made every kernel function call slower (docs/model.md, "What the
model costs")."""

from __future__ import annotations

import sys

import pytest

from anonvma.kernel import Linux
from anonvma.scenario import parse
from anonvma.session import Config, Session
from anonvma.variants import VARIANTS

SHARED_KEYS_MAX_SIZE = 30


def _dict_size(kernel) -> int:
    return len(vars(kernel))


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="a CPython dict layout")
@pytest.mark.parametrize("era", list(VARIANTS))
def test_booted_kernel_dict_under_shared_keys_limit(era):
    """Every era's kernel, booted by a session with lockdep and checks on
    and run through a fork and an exit, keeps fewer instance-dict
    attributes than CPython shares keys for."""
    script = parse("P0 mmap 0 2\nP0 write 0\nP0 fork P1\nP1 exit\n")
    machine = Session(script, Config(variant=era)).boot()
    machine.run_steps()
    assert _dict_size(machine.kernel) < SHARED_KEYS_MAX_SIZE


def test_hot_attributes_are_slots():
    """The attributes the fork and exit paths read on every call are slots,
    not dict entries."""
    kernel = Linux()
    names = set(vars(kernel))
    for name in ("trace", "current", "failslab", "anon_vma_cachep", "anon_vma_chain_cachep",
                 "vm_area_cachep", "zero_folio"):
        assert name in Linux.__slots__ and name not in names
