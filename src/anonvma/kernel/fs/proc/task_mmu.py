"""fs/proc/task_mmu.c: the lines of /proc/PID/maps."""

from __future__ import annotations

from ...include.mm import VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE

_PERM_BITS = VM_READ | VM_WRITE | VM_EXEC | VM_MAYSHARE
# show_map_vma()'s four characters for each combination of the bits, made
# once: a session lists every VMA of every process at the end of each run
_PERMS = {bits: ("r" if bits & VM_READ else "-") + ("w" if bits & VM_WRITE else "-")
          + ("x" if bits & VM_EXEC else "-") + ("s" if bits & VM_MAYSHARE else "p")
          for bits in range(_PERM_BITS + 1) if not bits & ~_PERM_BITS}


class TaskMmu:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def show_map_vma(self, vma) -> tuple[int, int, str]:
        """(start, end, perms) as /proc/PID/maps prints them."""
        return vma.vm_start, vma.vm_end, _PERMS[vma.vm_flags & _PERM_BITS]

    def proc_pid_maps(self, mm) -> list[tuple[int, int, str]]:
        self.mmap_read_lock(mm)
        try:
            return [self.show_map_vma(vma) for vma in mm.mm_mt]
        finally:
            self.mmap_read_unlock(mm)
