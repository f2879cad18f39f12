"""The kernel eras, each a class that overrides only what its era did
differently.  ``VARIANTS`` maps a name to its class, oldest first.  The
default is 6.18, the model's main line (kernel/) and the kernel the traces
were recorded on; 7.0 follows it.  A user's patch is one more such class
(``user``): ``PATH.py:Class``, ``package.module:Class``, or a name an
installed package registers in the ``anonvma.variants`` entry-point group."""

from __future__ import annotations

from ..kernel import Linux
from ..kernel.kernel.locking.lockdep import Lockdep
from .lockdep_reclaim_fs import LockdepReclaimFs
from .user import UnknownVariant, entry_point_specs, is_user_spec, load_user_variant, resolve_spec
from .v2_6_36 import Linux_2_6_36, Linux_2_6_36_rc1
from .v2_6_39 import Linux_2_6_39
from .v3_0 import Linux_3_0, Linux_3_0_rc2
from .v3_0_rc1 import Linux_3_0_rc1, Linux_3_0_rc2_clone
from .v3_7 import Linux_3_7
from .v3_8 import Linux_3_8, Linux_3_9
from .v3_18 import Linux_3_15, Linux_3_18
from .v5_19 import Linux_3_19, Linux_3_19_rc4, Linux_4_0, Linux_5_19
from .v6_0 import Linux_6_0
from .v6_3 import Linux_6_3, Linux_6_3_rc1
from .v6_18_7 import Linux_6_18_7
from .v7_0 import Linux_7_0, Linux_7_0_rc

VARIANTS: dict[str, type] = {
    cls.name: cls for cls in (
        Linux_2_6_36_rc1, Linux_2_6_36, Linux_2_6_39, Linux_3_0_rc1, Linux_3_0_rc2_clone,
        Linux_3_0_rc2, Linux_3_0, Linux_3_7, Linux_3_8, Linux_3_9, Linux_3_15, Linux_3_18, Linux_3_19_rc4, Linux_3_19, Linux_4_0, Linux_5_19,
        Linux_6_0, Linux_6_3_rc1, Linux_6_3, Linux_6_18_7, Linux, Linux_7_0_rc, Linux_7_0,
    )
}
NEWEST = Linux.name


def get_variant(name: str | None, relative_to: str | None = None) -> type:
    """The class of an era name, a registered name, or a user's patch
    (``PATH.py:Class``, a relative PATH taken from the directory
    ``relative_to`` if given); ``UnknownVariant`` says what is wrong."""
    name = name or NEWEST
    if name in VARIANTS:
        return VARIANTS[name]
    if is_user_spec(name):
        return load_user_variant(resolve_spec(name, relative_to), VARIANTS)
    registered = entry_point_specs()
    if name in registered:
        return load_user_variant(registered[name], VARIANTS, name=name)
    raise UnknownVariant(f"unknown variant {name!r}: known are "
                         + ", ".join([*VARIANTS, *registered])
                         + "; a patch of your own is PATH.py:Class or package.module:Class")


def lockdep_for(kernel_class: type) -> type:
    """The lockdep of an era: its class declares the flavour it had."""
    return {"fs_reclaim": Lockdep, "reclaim_fs": LockdepReclaimFs}[kernel_class.lockdep_flavour]


def installed_variants() -> dict[str, type]:
    """The variants installed packages register, by name."""
    return {name: load_user_variant(spec, VARIANTS, name=name)
            for name, spec in entry_point_specs().items()}
