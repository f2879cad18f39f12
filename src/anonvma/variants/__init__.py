"""The kernel eras, each a class that overrides only what its era did
differently.  ``VARIANTS`` maps a name to its class, newest last."""

from __future__ import annotations

from ..kernel import Linux

VARIANTS: dict[str, type] = {
    Linux.name: Linux,
}
NEWEST = Linux.name


class UnknownVariant(LookupError):
    def __init__(self, name: str):
        super().__init__(f"unknown variant {name!r}: known are " + ", ".join(VARIANTS))


def get_variant(name: str | None) -> type:
    try:
        return VARIANTS[name or NEWEST]
    except KeyError:
        raise UnknownVariant(name) from None
