"""The folio lock (mm/filemap.c, include/linux/pagemap.h): PG_locked."""

from __future__ import annotations


class Filemap:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def folio_trylock(self, folio) -> bool:
        if folio.locked:
            return False
        folio.locked = True
        return True

    def folio_unlock(self, folio) -> None:
        folio.locked = False
