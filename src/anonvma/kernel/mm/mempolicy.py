"""mm/mempolicy.c (Linux 6.18): mbind() of a range.

A VMA's memory policy takes part in merging (mpol_equal() in
is_mergeable_vma() and anon_vma_compatible()), so binding part of a VMA
splits it and binding a neighbour's range the same way merges them.  The
model keeps the policy as (mode, nodes); it allocates from its one zone
whatever the policy says, as the one-node machine the traces come from
does.  No MPOL_MF_MOVE: mbind() here migrates nothing.
"""

from __future__ import annotations

from ..include.errno import EFAULT, EINVAL
from ..include.mm import PAGE_ALIGN, PAGE_MASK

MPOL_DEFAULT = 0
MPOL_PREFERRED = 1
MPOL_BIND = 2
MPOL_INTERLEAVE = 3


class Mempolicy:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def sys_mbind(self, start: int, length: int, mode: int, nodes: frozenset, flags: int) -> int:
        return self.do_mbind(start, length, mode, nodes, flags)

    def mpol_new(self, mode: int, nodes: frozenset):
        """None for the default policy; -EINVAL for a bad nodemask."""
        if mode == MPOL_DEFAULT:
            return -EINVAL if nodes else None
        if not nodes or not nodes <= frozenset({0}):
            return -EINVAL              # one node, N_MEMORY = {0}
        return (mode, nodes)

    def do_mbind(self, start: int, length: int, mode: int, nodes: frozenset, flags: int) -> int:
        if flags or start & ~PAGE_MASK:
            return -EINVAL
        length = PAGE_ALIGN(length)
        end = start + length
        if end < start:
            return -EINVAL
        if end == start:
            return 0
        new = self.mpol_new(mode, nodes)
        if isinstance(new, int):
            return new
        # If we are using the default policy then operation on
        # discontinuous address spaces is okay after all.
        discontig_ok = new is None
        mm = self.current.mm
        self.mmap_write_lock(mm)
        try:
            err = self.queue_pages_range(mm, start, end, discontig_ok)
            if err:
                return err
            vma = mm.mm_mt.find(start)
            prev = mm.mm_mt.prev(vma)
            while vma is not None and vma.vm_start < end:
                err, prev = self.mbind_range(vma, prev, start, end, new)
                if err:
                    return err
                vma = mm.mm_mt.find(prev.vm_end)
            return 0
        finally:
            self.mmap_write_unlock(mm)

    def queue_pages_range(self, mm, start: int, end: int, discontig_ok: bool) -> int:
        """Only its test_walk here: a range wholly in a hole is -EFAULT, and
        so is any hole unless the policy is the default."""
        vmas = mm.mm_mt.range(start, end)
        if not vmas:
            return -EFAULT
        if discontig_ok:
            return 0
        if start < vmas[0].vm_start:
            return -EFAULT              # hole at head side of range
        for vma, next in zip(vmas, vmas[1:] + [None]):
            if vma.vm_end < end and (next is None or vma.vm_end < next.vm_start):
                return -EFAULT          # hole at middle or tail of range
        return 0

    def mbind_range(self, vma, prev, start: int, end: int, new_pol):
        """Returns (error, the VMA now covering the part of [start, end)
        that was ``vma``)."""
        vmend = min(end, vma.vm_end)
        if start > vma.vm_start:
            prev = vma
            vmstart = start
        else:
            vmstart = vma.vm_start
        if vma.vm_policy == new_pol:    # mpol_equal()
            return 0, vma
        vma = self.vma_modify_policy(prev, vma, vmstart, vmend, new_pol)
        if isinstance(vma, int):
            return vma, prev
        # vma_replace_policy()
        self.vma_start_write(vma)
        vma.vm_policy = new_pol
        return 0, vma
