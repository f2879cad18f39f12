"""What every lock of the model shares: an owner, a wait queue, a lockdep
class key, tracepoints.

A lock belongs to one simulated kernel (``lock.kernel``), which knows the
current task, the scheduler and the tracer.  Acquire and release fire the
``lock_acquire/lock_contended/lock_acquired/lock_release`` tracepoints that
CONFIG_LOCKDEP and CONFIG_LOCK_STAT fire in the kernel; lockdep and lock
statistics subscribe to them and are not part of the lock.

A task that finds a lock taken queues a ``lock_waiter`` on ``wait_list`` and
waits in ``kernel.sched.wait_for(lock, test)`` until the lock is handed to
it.  The queue is what the hung-task report reads to say who waits for whom.

Where Python departs from C: the kernel lets a running task steal a mutex
or rwsem from a woken waiter (optimistic spinning) until the waiter has
waited long enough to set the HANDOFF flag.  The model hands the lock to the
first waiter at release, as if HANDOFF were always set: there is no time to
wait for, and stealing would let a strategy starve a waiter forever.  The
set of reachable deadlocks is the same; queued spinlocks (qspinlock) are
FIFO in the kernel too.
"""

from __future__ import annotations

import sys

# ``_RET_IP_``: the lock functions pass lockdep the code object of the
# function that called them, ``sys._getframe(depth).f_code`` at the depth
# their caller is at (the kernel's lock_acquire() takes the caller's return
# address the same way), and only when somebody listens.
_getframe = sys._getframe


class lock_class_key:
    """A lockdep class key: all locks initialised with one key are one class,
    as all ``anon_vma->rwsem`` are, because ``anon_vma_ctor`` initialises them
    all at the same place."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<lock_class_key {self.name}>"


class lock_waiter:
    """``struct mutex_waiter`` / ``struct rwsem_waiter``: one queued task.
    ``granted`` is set by the releasing task when it hands the lock over."""

    __slots__ = ("task", "read", "granted")

    def __init__(self, task, read: int):
        self.task = task
        self.read = read
        self.granted = False

    def __call__(self) -> bool:
        # The wait condition the scheduler polls: cheaper than a lambda.
        return self.granted


class Lock:
    """Base of spinlock_t, struct mutex and struct rw_semaphore."""

    __slots__ = ("kernel", "key", "name", "owner", "wait_list")
    # lockdep's wait type, printed as {inner:outer} in reports: 2 spin, 3 sleep
    wait_type = 3

    def __init__(self, kernel, key: lock_class_key, name: str | None = None):
        self.kernel = kernel
        self.key = key
        self.name = name or key.name
        self.owner = None
        self.wait_list: list[lock_waiter] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def slowpath_name(self, read: bool) -> str:
        """The kernel function a waiter on this lock sleeps or spins in."""
        return self.SLOWPATH

    def holders(self) -> list:
        """The tasks holding this lock (readers included, for an rwsem)."""
        return [] if self.owner is None else [self.owner]

    def _slowpath(self, read: int) -> None:
        """The slow path: queue, fire lock_contended, sleep until handed the
        lock, fire lock_acquired."""
        kernel = self.kernel
        waiter = lock_waiter(kernel.current, read)
        self.wait_list.append(waiter)
        trace = kernel.trace
        if trace.lock_contended.probes:
            trace.lock_contended(self, None)
        kernel.sched.wait_for(self, waiter, spin=self.wait_type == 2)
        if trace.lock_acquired.probes:
            trace.lock_acquired(self, None)

    # spinlock_t and struct mutex share one exclusive protocol; they differ
    # in whether the waiter spins or sleeps (``wait_type``) and where the
    # caller may sleep first.  Each tracepoint's probes are called where it
    # fires, as the kernel's trace_*() inlines test their static key and
    # call the probe functions (__DO_TRACE): a lock nobody traces costs no
    # call beyond its own, and lockdep's probe is one call away.
    def _lock(self, subclass: int, depth: int) -> None:
        """``depth``: how far up the stack from here the lock's user is."""
        kernel = self.kernel
        probes = kernel.trace.lock_acquire.probes
        if probes:                  # the static key: no loop, no iterator
            for probe in probes:
                probe(self, subclass, 0, 0, _getframe(depth).f_code)
        if self.owner is None:
            self.owner = kernel.current
        else:
            self._slowpath(0)       # queued, and handed the lock at unlock

    def _trylock(self, depth: int) -> bool:
        if self.owner is not None:
            return False
        kernel = self.kernel
        for probe in kernel.trace.lock_acquire.probes:
            probe(self, 0, 1, 0, _getframe(depth).f_code)
        self.owner = kernel.current
        return True

    def _unlock(self) -> None:
        """Release; the first waiter (FIFO: the MCS queue head of a spinlock,
        __mutex_unlock_slowpath's handoff for a mutex) gets the lock."""
        probes = self.kernel.trace.lock_release.probes
        if probes:
            for probe in probes:
                probe(self, None)
        if self.wait_list:
            waiter = self.wait_list.pop(0)
            self.owner = waiter.task
            waiter.granted = True
        else:
            self.owner = None
