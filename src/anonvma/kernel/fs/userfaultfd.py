"""fs/userfaultfd.c (Linux 6.18): a userfaultfd, registering a range with
it (UFFDIO_REGISTER, missing mode) and the UFFDIO_MOVE ioctl.

A scenario process has at most one userfaultfd, for its mm, opened (with
the UFFDIO_API handshake, asking for UFFD_FEATURE_SIGBUS: nobody resolves
faults, so a missing page of a registered VMA is SIGBUS, not a wait) at its
first userfaultfd line.  So
within one mm VM_UFFD_MISSING says which context a VMA is registered with,
and the model keeps no vm_userfaultfd_ctx beside it.  Without
UFFD_FEATURE_EVENT_FORK a forked child's VMAs lose their registration
(dup_userfaultfd); the file is closed at exit and exec only after the mm
is gone, so its release finds nothing to unregister.
"""

from __future__ import annotations

from ..include.errno import EAGAIN, EINVAL, EPERM
from ..include.mm import (
    MMAP_MIN_ADDR, PAGE_MASK, TASK_SIZE, VM_MAYWRITE, VM_UFFD_MISSING, _VM_UFFD_FLAGS,
)

UFFDIO_MOVE_MODE_DONTWAKE = 1 << 0
UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES = 1 << 1


class userfaultfd_ctx:
    """struct userfaultfd_ctx: the mm it serves."""

    __slots__ = ("mm",)

    def __init__(self, mm):
        self.mm = mm


class Userfaultfd:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def sys_userfaultfd(self) -> userfaultfd_ctx:
        """userfaultfd(O_CLOEXEC), then UFFDIO_API: a context for current's mm."""
        return userfaultfd_ctx(self.current.mm)

    def validate_range(self, start: int, length: int) -> int:
        if start & ~PAGE_MASK or length & ~PAGE_MASK or not length:
            return -EINVAL
        if start < MMAP_MIN_ADDR or start >= TASK_SIZE or length > TASK_SIZE - start:
            return -EINVAL
        return 0

    def userfaultfd_register(self, ctx: userfaultfd_ctx, start: int, length: int) -> int:
        """UFFDIO_REGISTER_MODE_MISSING over [start, start + length): every
        VMA in it (holes are skipped, but one VMA there must be) is split
        or merged to carry VM_UFFD_MISSING."""
        ret = self.validate_range(start, length)
        if ret:
            return ret
        mm = ctx.mm
        end = start + length
        self.mmap_write_lock(mm)
        try:
            vma = mm.mm_mt.find(start)
            if vma is None or vma.vm_start >= end:
                return -EINVAL
            cur = vma
            while cur is not None and cur.vm_start < end:
                # vma_can_userfault() holds for every private anonymous VMA
                if not cur.vm_flags & VM_MAYWRITE:
                    return -EPERM
                cur = mm.mm_mt.find(cur.vm_end)
            return self.userfaultfd_register_range(ctx, vma, VM_UFFD_MISSING, start, end)
        finally:
            self.mmap_write_unlock(mm)

    def userfaultfd_move(self, ctx: userfaultfd_ctx, dst: int, src: int, length: int,
                         mode: int) -> int:
        """UFFDIO_MOVE: 0 if the whole range moved, -EAGAIN if only part of
        it (uffdio_move.move says how much), else move_pages()'s error."""
        if ctx.mm is not self.current.mm:
            return -EINVAL      # no cross-mm moves
        ret = self.validate_range(dst, length) or self.validate_range(src, length)
        if ret:
            return ret
        if mode & ~(UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES | UFFDIO_MOVE_MODE_DONTWAKE):
            return -EINVAL
        ret = self.move_pages(ctx, dst, src, length, mode)
        if ret < 0:
            return ret
        return 0 if ret == length else -EAGAIN

    def dup_userfaultfd(self, vma) -> None:
        """The child of a fork without UFFD_FEATURE_EVENT_FORK: not registered."""
        vma.vm_flags &= ~_VM_UFFD_FLAGS

    def mremap_userfaultfd_prep(self, vma) -> None:
        """Where mremap() moved a registered range to: without
        UFFD_FEATURE_EVENT_REMAP its context is dropped (userfaultfd_reset_ctx),
        for the whole VMA, which may be a neighbour the range merged with."""
        vma.vm_flags &= ~_VM_UFFD_FLAGS
