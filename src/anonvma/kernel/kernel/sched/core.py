"""Tasks and the sequential scheduler.

``task_struct`` is the part of the kernel's task that the model needs.  The
scheduler object behind ``kernel.sched`` is where a task waits: the
sequential scheduler runs one task only, so a wait that cannot be satisfied
at once is a hung task, reported with the lock and its holder.
"""

from __future__ import annotations

PF_MEMALLOC = 0x00000800
PF_KSWAPD = 0x00020000
PF_KTHREAD = 0x00200000


class task_struct:
    __slots__ = ("pid", "comm", "mm", "flags", "exit_state", "held_locks")

    def __init__(self, pid: int, comm: str, mm=None, flags: int = 0):
        self.pid = pid
        self.comm = comm
        self.mm = mm
        self.flags = flags
        self.exit_state = 0
        self.held_locks = []

    def __repr__(self) -> str:
        return f"<task {self.comm}/{self.pid}>"


class HungTask(Exception):
    """Every task is blocked: the kernel's hung-task detector would fire."""

    def __init__(self, report: str):
        super().__init__(report)
        self.report = report


class SequentialScheduler:
    """One task at a time: nothing ever switches, so waiting is hanging."""

    def __init__(self, kernel):
        self.kernel = kernel

    def wait_for(self, lock, test, spin: bool = False) -> None:
        if test():
            return
        holder = getattr(lock, "owner", None)
        raise HungTask(
            f"INFO: task {self.kernel.current.comm}:{self.kernel.current.pid} blocked "
            f"waiting for {lock.name}, held by "
            f"{holder.comm + ':' + str(holder.pid) if holder else 'readers'}"
        )

    def cond_resched(self) -> None:
        pass
