"""The kernel eras, each a class that overrides only what its era did
differently.  ``VARIANTS`` maps a name to its class, newest last."""

from __future__ import annotations

from ..kernel import Linux

VARIANTS: dict[str, type] = {
    Linux.name: Linux,
}
NEWEST = Linux.name


def get_variant(name: str | None) -> type:
    return VARIANTS[name or NEWEST]
