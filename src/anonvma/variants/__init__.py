"""The kernel eras, each a class that overrides only what its era did
differently.  ``VARIANTS`` maps a name to its class, oldest first.  The
default is 6.18, the model's main line (kernel/) and the kernel the traces
were recorded on; 7.0 follows it."""

from __future__ import annotations

from ..kernel import Linux
from .v2_6_36 import Linux_2_6_36, Linux_2_6_36_rc1
from .v2_6_39 import Linux_2_6_39
from .v3_0 import Linux_3_0, Linux_3_0_rc2
from .v3_18 import Linux_3_15, Linux_3_18
from .v5_19 import Linux_3_19, Linux_3_19_rc4, Linux_4_0, Linux_5_19
from .v6_0 import Linux_6_0
from .v6_3 import Linux_6_3, Linux_6_3_rc1
from .v6_18_7 import Linux_6_18_7
from .v7_0 import Linux_7_0, Linux_7_0_rc

VARIANTS: dict[str, type] = {
    cls.name: cls for cls in (
        Linux_2_6_36_rc1, Linux_2_6_36, Linux_2_6_39, Linux_3_0_rc2, Linux_3_0,
        Linux_3_15, Linux_3_18, Linux_3_19_rc4, Linux_3_19, Linux_4_0, Linux_5_19,
        Linux_6_0, Linux_6_3_rc1, Linux_6_3, Linux_6_18_7, Linux, Linux_7_0_rc, Linux_7_0,
    )
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
