"""The kernel object has no instance dict: CPython 3.11 specialises a method
call on an object only while its dict is not materialised, and unpickling
the prefix snapshot and restoring it in place after each run materialise
it (anonvma.kernel's docstring).  Every attribute is a slot: Linux's listed
by hand, an era's found in its methods."""

from __future__ import annotations

import pytest

from anonvma.kernel import Linux, methods, stored_on_self
from anonvma.scenario import parse
from anonvma.session import Config, Session
from anonvma.variants import VARIANTS


def settable(klass) -> set[str]:
    """The slots and properties of ``klass`` and its bases."""
    return {attr for k in klass.__mro__ for attr, v in vars(k).items()
            if isinstance(v, property) or type(v).__name__ == "member_descriptor"}


@pytest.mark.parametrize("era", list(VARIANTS))
def test_booted_kernel_has_no_dict(era):
    """Every era's kernel, booted by a session with lockdep and checks on
    and run through a fork and an exit, stores all it holds in slots."""
    script = parse("P0 mmap 0 2\nP0 write 0\nP0 fork P1\nP1 exit\n")
    machine = Session(script, Config(variant=era)).boot()
    machine.run_steps()
    assert not hasattr(machine.kernel, "__dict__")


@pytest.mark.parametrize("era", list(VARIANTS))
def test_every_attribute_a_kernel_method_stores_is_a_slot(era):
    klass = VARIANTS[era]
    stored = stored_on_self([f for k in klass.__mro__ for f in methods(vars(k))])
    assert "zone" in stored and not stored - settable(klass)


def _era(module: str, **namespace):
    return type(Linux)("Era", (Linux,), {"__module__": module, **namespace})


def test_an_era_gets_a_slot_for_each_attribute_its_methods_store():
    def init(self):
        Linux.__init__(self)
        self.era_key = 1                # new: a slot
        self.zone = self.zone           # Linux's slot already

    era = _era("anonvma.variants.test", __init__=init)
    assert era.__slots__ == ("era_key",) and era().era_key == 1
    assert not hasattr(era(), "__dict__")


def test_an_attribute_that_is_also_a_class_default_keeps_a_dict():
    def init(self):
        Linux.__init__(self)
        self.rmap_layout = "list"       # overrides the class attribute

    k = _era("anonvma.variants.test", __init__=init)()
    assert k.rmap_layout == "list" and Linux.rmap_layout == "interval_tree"


def test_a_users_patch_keeps_a_dict():
    k = _era("anonvma_patch_x")()
    k.anything = 1
    assert k.anything == 1
