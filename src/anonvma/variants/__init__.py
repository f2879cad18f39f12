"""The kernel eras, each a class that overrides only what its era did
differently.  ``VARIANTS`` maps a name to its class, oldest first, newest
(the default) last."""

from __future__ import annotations

from ..kernel import Linux
from .v2_6_39 import Linux_2_6_39
from .v3_0 import Linux_3_0, Linux_3_0_rc2

VARIANTS: dict[str, type] = {
    cls.name: cls for cls in (Linux_2_6_39, Linux_3_0_rc2, Linux_3_0, Linux)
}
NEWEST = Linux.name


class UnknownVariant(LookupError):
    def __init__(self, name: str):
        super().__init__(f"unknown variant {name!r}: known are " + ", ".join(VARIANTS))


def lockdep_for(kernel_class: type) -> type:
    """The lockdep of an era: its class declares the flavour it had."""
    from ..kernel.kernel.locking.lockdep import Lockdep
    from .lockdep_reclaim_fs import LockdepReclaimFs
    return {"fs_reclaim": Lockdep, "reclaim_fs": LockdepReclaimFs}[kernel_class.lockdep_flavour]


def get_variant(name: str | None) -> type:
    try:
        return VARIANTS[name or NEWEST]
    except KeyError:
        raise UnknownVariant(name) from None
