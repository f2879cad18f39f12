"""fs/exec.c: the address space a new program starts with.

A program the scenario interpreter runs is static and freestanding: its
text and the vDSO carry no anon_vma, so the model keeps only the stack,
which ``execve`` has written (argv, envp, auxv) and which therefore owns one
anon_vma and one anon_vma_chain before the program's first instruction.
"""

from __future__ import annotations

from ..include.mm import PAGE_SHIFT, PAGE_SIZE, STACK_TOP, VM_STACK_FLAGS

STACK_PAGES = 33        # 132 KiB: what a fresh process's [stack] spans


class Exec:

    def bprm_mm_init(self, tsk) -> None:
        """A new mm for ``tsk`` with the stack VMA, then copy_strings()'s
        write to its top page, which gives the stack its anon_vma."""
        mm = self.mm_alloc()
        tsk.mm = mm
        # setup_new_exec()
        self.arch_pick_mmap_layout(mm)
        vma = self.vm_area_alloc(mm)
        vma.vm_start = STACK_TOP - STACK_PAGES * PAGE_SIZE
        vma.vm_end = STACK_TOP
        vma.vm_flags = VM_STACK_FLAGS
        vma.vm_pgoff = vma.vm_start >> PAGE_SHIFT
        self.mmap_write_lock(mm)
        self.insert_vm_struct(mm, vma)
        self.mmap_write_unlock(mm)
        self.mmap_read_lock(mm)
        self.handle_mm_fault(vma, STACK_TOP - PAGE_SIZE, True)
        self.mmap_read_unlock(mm)

    def insert_vm_struct(self, mm, vma) -> int:
        return self.vma_link(mm, vma)
