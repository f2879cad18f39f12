"""kernel/exit.c: a process ends, and its mm with it."""

from __future__ import annotations


class Exit:

    def do_group_exit(self) -> None:
        self.do_exit()

    def do_exit(self) -> None:
        tsk = self.current
        tp = self.trace.sched_process_exit
        if tp.probes:
            tp(tsk)
        self.exit_mm()
        tsk.exit_state = 1
        self.tasks.remove(tsk)

    def exit_mm(self) -> None:
        tsk = self.current
        mm = tsk.mm
        if mm is None:
            return
        tsk.mm = None
        self.mmput(mm)
