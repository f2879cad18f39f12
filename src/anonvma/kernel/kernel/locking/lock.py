"""What every lock of the model shares: an owner, a lockdep map, tracepoints.

A lock belongs to one simulated kernel (``lock.kernel``), which knows the
current task, the scheduler and the tracer.  Acquire and release fire the
``lock_acquire/lock_contended/lock_acquired/lock_release`` tracepoints that
CONFIG_LOCKDEP and CONFIG_LOCK_STAT fire in the kernel; lockdep and lock
statistics subscribe to them and are not part of the lock.

A lock that is not free makes the task wait: ``kernel.sched.wait_for(lock,
test)`` runs other tasks until ``test()`` holds, or reports a hung task when
nobody can run, which in a sequential run is the only possible outcome.
"""

from __future__ import annotations


class lock_class_key:
    """A lockdep class key: all locks initialised with one key are one class,
    as all ``anon_vma->rwsem`` are, because ``anon_vma_ctor`` initialises them
    all at the same place."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<lock_class_key {self.name}>"


class Lock:
    """Base of spinlock_t, struct mutex and struct rw_semaphore."""

    __slots__ = ("kernel", "key", "name", "owner")
    # lockdep's wait type, printed as {inner:outer} in reports: 2 spin, 3 sleep
    wait_type = 3

    def __init__(self, kernel, key: lock_class_key, name: str | None = None):
        self.kernel = kernel
        self.key = key
        self.name = name or key.name
        self.owner = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # The helpers below keep the tracepoint protocol in one place.
    def _acquire(self, read: int, trylock: int, subclass: int = 0) -> None:
        trace = self.kernel.trace
        if trace.lock_acquire.probes:
            trace.lock_acquire(self, subclass, trylock, read, None)

    def _contended(self) -> None:
        trace = self.kernel.trace
        if trace.lock_contended.probes:
            trace.lock_contended(self, None)

    def _acquired(self) -> None:
        trace = self.kernel.trace
        if trace.lock_acquired.probes:
            trace.lock_acquired(self, None)

    def _release(self) -> None:
        trace = self.kernel.trace
        if trace.lock_release.probes:
            trace.lock_release(self, None)
