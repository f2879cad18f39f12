"""include/linux/bug.h and mmdebug.h: WARN_ON, VM_WARN_ON, VM_BUG_ON.

The model runs as a CONFIG_DEBUG_VM kernel: a warning is reported on the
``report`` tracepoint and the run goes on; a BUG is reported and stops the
operation with ``KernelBug``, as an oops kills the task that hit it.
"""

from __future__ import annotations


class KernelBug(Exception):
    pass


class Bug:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def WARN_ON_ONCE(self, text: str) -> None:
        if text not in self.warned_once:
            self.warned_once.add(text)
            self.trace.report("warning", f"WARNING: {text}")

    def VM_WARN_ON(self, cond, text: str) -> None:
        if cond:
            self.trace.report("warning", f"WARNING: {text}")

    def VM_BUG_ON(self, cond, text: str) -> None:
        if cond:
            self.trace.report("bug", f"kernel BUG: {text}")
            raise KernelBug(text)
