"""fs/proc/task_mmu.c: the lines of /proc/PID/maps."""

from __future__ import annotations

from ...include.mm import VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE


class TaskMmu:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def show_map_vma(self, vma) -> tuple[int, int, str]:
        """(start, end, perms) as /proc/PID/maps prints them."""
        flags = vma.vm_flags
        perms = ("r" if flags & VM_READ else "-") + ("w" if flags & VM_WRITE else "-") \
            + ("x" if flags & VM_EXEC else "-") + ("s" if flags & VM_MAYSHARE else "p")
        return vma.vm_start, vma.vm_end, perms

    def proc_pid_maps(self, mm) -> list[tuple[int, int, str]]:
        self.mmap_read_lock(mm)
        try:
            return [self.show_map_vma(vma) for vma in mm.mm_mt]
        finally:
            self.mmap_read_unlock(mm)
