"""kernel/sys.c: prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME), and the release
uname() reports."""

from __future__ import annotations

import re

from ..include.errno import EINVAL

ANON_VMA_NAME_MAX_LEN = 80


class Sys:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def init_utsname_release(self) -> str:
        """init_utsname()->release, which the splats print: the era's, with
        3.0 on three numbers (SUBLEVEL 0 before the first stable update:
        v3.0-rc2 is 3.0.0-rc2).  A user's patch reports the release it
        patches; an era of patches on a release candidate (v3.0-rc2-clone)
        the candidate's."""
        era = next(k for k in type(self).__mro__ if k.__module__.startswith("anonvma.")).name
        version, _, extra = era.removeprefix("v").partition("-")
        if version.count(".") == 1:
            version += ".0"
        rc = re.match(r"rc\d*", extra)
        return f"{version}-{rc.group()}" if rc else version

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
