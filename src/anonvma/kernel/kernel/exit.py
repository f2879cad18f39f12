"""kernel/exit.c: a process ends, and its mm with it."""

from __future__ import annotations


class Exit:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def do_group_exit(self) -> None:
        """exit_group(): the other threads are killed and exit, then this one.
        Which of them runs exit_mmap() is a race in the live kernel; their
        events carry the process's name either way."""
        self.zap_other_threads(self.current)
        self.do_exit()

    def zap_other_threads(self, p) -> None:
        """SIGKILL to every other thread of ``p``'s group; each exits."""
        me = self.current
        for t in [t for t in self.tasks if t.group_leader is p.group_leader and t is not p]:
            self.current = t
            self.do_exit()
        self.current = me

    def sys_exit(self) -> None:
        """exit(2): the calling thread alone exits; its group lives on."""
        self.do_exit()

    def do_exit(self) -> None:
        tsk = self.current
        tp = self.trace.sched_process_exit
        if tp.probes:
            tp(tsk)
        self.exit_mm()
        tsk.exit_state = 1
        self.tasks.remove(tsk)
        # do_task_dead(): the task's last __schedule()
        self.rcu_qs()

    def exit_mm(self) -> None:
        tsk = self.current
        mm = tsk.mm
        if mm is None:
            return
        tsk.mm = None
        self.mmput(mm)
