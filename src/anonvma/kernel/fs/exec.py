"""fs/exec.c: the address space a new program starts with, and execve.

A program the scenario interpreter runs is static and freestanding: its
text and the vDSO carry no anon_vma, so the model keeps only the stack,
which ``execve`` has written (argv, envp, auxv) and which therefore owns one
anon_vma and one anon_vma_chain before the program's first instruction.
"""

from __future__ import annotations

from ..include.errno import E2BIG, ENOMEM
from ..include.mm import PAGE_SHIFT, PAGE_SIZE, STACK_TOP, VM_STACK_FLAGS

STACK_PAGES = 33        # 132 KiB: what a fresh process's [stack] spans
# The interpreter's last (read-only, empty) ELF segment ends where the
# scenario range begins, and it runs without address randomisation, so its
# heap starts at scenario page 0 (load_elf_binary(): start_brk = elf_brk).
ELF_BRK = 0x200000000000


class Exec:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def do_execve(self) -> int:
        """The current task runs a new program: the new mm is built and its
        stack written first, then the other threads die and the old mm is
        dropped (torn down by its last user).  Returns 0 or -errno; a
        failure leaves the old mm as it was."""
        mm = self.bprm_mm_init()
        if mm is None:
            return -ENOMEM
        if self.copy_strings(mm):
            # free_bprm(): the new mm goes, with whatever its stack got
            self.mmput(mm)
            return -E2BIG
        self.begin_new_exec(mm)
        return 0

    def bprm_mm_init(self):
        """A new mm with the stack VMA (__bprm_mm_init), or None."""
        mm = self.mm_alloc()
        vma = self.vm_area_alloc(mm)
        if vma is None:
            return None
        vma.vm_start = STACK_TOP - STACK_PAGES * PAGE_SIZE
        vma.vm_end = STACK_TOP
        vma.vm_flags = VM_STACK_FLAGS
        vma.vm_pgoff = vma.vm_start >> PAGE_SHIFT
        self.mmap_write_lock(mm)
        self.insert_vm_struct(mm, vma)
        self.mmap_write_unlock(mm)
        return mm

    def copy_strings(self, mm) -> int:
        """argv and envp go to the new stack's top page through
        get_user_pages_remote(): a write fault there gives the stack its
        anon_vma, in the context of the task that execs.  Nonzero if the
        fault failed (get_arg_page() returns NULL)."""
        top = STACK_TOP - PAGE_SIZE
        self.mmap_read_lock(mm)
        ret = self.handle_mm_fault(mm.mm_mt.find(top), top, True)
        self.mmap_read_unlock(mm)
        return ret

    def begin_new_exec(self, mm) -> None:
        self.de_thread(self.current)
        self.exec_mmap(mm)
        # setup_new_exec()
        self.arch_pick_mmap_layout(mm)
        # load_elf_binary(), after begin_new_exec()
        mm.start_brk = mm.brk = ELF_BRK

    def de_thread(self, tsk) -> None:
        """Kill the other threads; a thread that execs becomes the leader."""
        self.zap_other_threads(tsk)
        tsk.group_leader = tsk

    def exec_mmap(self, mm) -> None:
        tsk = self.current
        old_mm = tsk.mm
        tsk.mm = mm
        if old_mm is not None:
            self.mmput(old_mm)

    def insert_vm_struct(self, mm, vma) -> int:
        return self.vma_link(mm, vma)
