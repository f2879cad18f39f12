"""kernel/sys.c: prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME)."""

from __future__ import annotations

from ..include.errno import EINVAL

ANON_VMA_NAME_MAX_LEN = 80


class Sys:

    def prctl_set_vma(self, start: int, size: int, name: str | None) -> int:
        """Name the anonymous VMAs of a range (CONFIG_ANON_VMA_NAME), or
        unname them with None.  A name is at most 79 printable characters,
        none of them [, ], \\, $ or `."""
        if name is not None:
            if len(name) >= ANON_VMA_NAME_MAX_LEN or any(
                    not c.isprintable() or c in "[]\\$`" for c in name):
                return -EINVAL
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            return self.madvise_set_anon_name(mm, start, size, name)
        finally:
            self.mmap_write_unlock(mm)
