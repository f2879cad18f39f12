"""arch/x86/mm/mmap.c: where a new program's mmap area begins."""

from __future__ import annotations

from ....include.mm import PAGE_ALIGN, PAGE_SHIFT, STACK_GUARD_GAP, TASK_SIZE, _STK_LIM

SIZE_128M = 128 << 20
# __STACK_RND_MASK() of a 64-bit task: the stack's top moves by up to 16 GiB.
STACK_RND_MASK = 0x3fffff


class ArchMmap:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def mmap_base(self, rnd: int, task_size: int, rlim_stack: int) -> int:
        """Top of the mmap area, just below the stack and the room the stack
        may grow and be randomised into."""
        gap = rlim_stack + (STACK_RND_MASK << PAGE_SHIFT) + STACK_GUARD_GAP
        gap = min(max(gap, SIZE_128M), task_size // 6 * 5)
        return PAGE_ALIGN(task_size - gap - rnd)

    def arch_pick_mmap_layout(self, mm) -> None:
        """Top-down, as sysctl_legacy_va_layout=0 and an 8 MiB RLIMIT_STACK
        choose.  The live kernel adds arch_mmap_rnd(); the model leaves it
        out, and a scenario never sees the difference: what lands below
        mmap_base lies outside the scenario range, next to nothing of it."""
        mm.mmap_base = self.mmap_base(0, TASK_SIZE, _STK_LIM)
