"""arch/x86/kernel/sys_x86_64.c: choosing the address of a mapping."""

from __future__ import annotations

from ....include.errno import ENOMEM
from ....include.mm import (
    DEFAULT_MAP_WINDOW, MAP_FIXED, PAGE_MASK, PAGE_SIZE, TASK_SIZE, vm_start_gap,
)


class SysX86_64:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def arch_get_unmapped_area_topdown(self, addr0: int, length: int, flags: int) -> int:
        """A hint is taken as it is when the range is free; otherwise the
        highest free range below mmap_base.  (No MAP_32BIT, MAP_ABOVE4G or
        5-level hints: a scenario asks for none of them.)"""
        mm = self.current.mm
        addr = addr0
        if length > TASK_SIZE:
            return -ENOMEM
        if flags & MAP_FIXED:
            return addr
        if addr:
            addr &= PAGE_MASK
            # mmap_address_hint_valid()
            if addr + length <= DEFAULT_MAP_WINDOW:
                vma = mm.mm_mt.find(addr)
                if vma is None or addr + length <= vm_start_gap(vma):
                    return addr
        return self.unmapped_area_topdown(mm, length, PAGE_SIZE, mm.mmap_base)
