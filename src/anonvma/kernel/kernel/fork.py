"""kernel/fork.c: creating a process, and with it a copy of the mm."""

from __future__ import annotations

from ..include.errno import ENOMEM
from ..include.sched import CLONE_THREAD, CLONE_VM
from ..kernel.locking.rwsem import rw_semaphore
from ..kernel.locking.spinlock import spinlock_t
from ..mm.mm_types import mm_struct
from .sched.core import task_struct


class Fork:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def mm_alloc(self) -> mm_struct:
        mm = mm_struct()
        mm.mmap_lock = rw_semaphore(self, self.mmap_lock_key)
        mm.page_table_lock = spinlock_t(self, self.page_table_lock_key)
        return mm

    def mmput(self, mm) -> None:
        """Drop a user of ``mm``; the last one tears the address space down."""
        mm.mm_users -= 1
        if mm.mm_users == 0:
            self.exit_mmap(mm)

    def dup_mm(self, tsk, oldmm):
        mm = self.mm_alloc()
        # memcpy(mm, oldmm): the layout is the parent's
        mm.mmap_base = oldmm.mmap_base
        mm.start_brk, mm.brk = oldmm.start_brk, oldmm.brk
        err = self.dup_mmap(mm, oldmm)
        if err:
            # The half-built mm is torn down in the parent's context.
            self.mmput(mm)
            return None
        return mm

    def copy_mm(self, clone_flags: int, tsk) -> int:
        oldmm = self.current.mm
        if clone_flags & CLONE_VM:
            # a thread (or vfork child) shares the address space: mmget()
            oldmm.mm_users += 1
            tsk.mm = oldmm
            return 0
        mm = self.dup_mm(tsk, oldmm)
        if mm is None:
            return -ENOMEM
        tsk.mm = mm
        return 0

    def copy_process(self, comm: str, clone_flags: int):
        p = task_struct(self.alloc_pid(), comm)
        # dup_task_struct() copies make_it_fail; fail_nth starts at 0.
        p.make_it_fail = self.current.make_it_fail
        retval = self.copy_mm(clone_flags, p)
        if retval:
            return retval
        if clone_flags & CLONE_THREAD:
            p.group_leader = self.current.group_leader
        return p

    def kernel_clone(self, comm: str, clone_flags: int = 0):
        """fork() (no flags) or clone(): a new task named ``comm``, or -errno."""
        p = self.copy_process(comm, clone_flags)
        if isinstance(p, int):
            return p
        self.tasks.append(p)
        tp = self.trace.sched_process_fork
        if tp.probes:
            tp(self.current, p)
        return p

    def alloc_pid(self) -> int:
        self.last_pid += 1
        return self.last_pid
