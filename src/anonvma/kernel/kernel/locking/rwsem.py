"""struct rw_semaphore (include/linux/rwsem.h, kernel/locking/rwsem.c).

``owner`` is the writer; ``readers`` counts read holders and ``read_owners``
names them (the kernel remembers only the last reader, in ``sem->owner``
with RWSEM_READER_OWNED; the model keeps them all so that a hung-task report
can say which readers a writer waits for).

The rules that matter for deadlocks are the kernel's:
- a reader gets the lock at once only if no writer holds it and nobody is
  queued (``rwsem_read_trylock`` fails on RWSEM_FLAG_WAITERS, and the
  slowpath's reader stealing is refused while readers own the lock and
  waiters exist).  So a queued writer blocks new readers, and a task taking
  a read lock it already holds can deadlock against a writer in between;
- a writer gets it only when nobody holds it;
- ``up_read`` by the last reader or ``up_write`` wakes the queue
  (``rwsem_mark_wake``): a writer at the head is handed the lock; readers at
  the head are granted it together with every other reader in the queue
  (6.x wakes readers past queued writers, up to MAX_READERS_WAKEUP).
"""

from __future__ import annotations

from .lock import Lock, _getframe

MAX_READERS_WAKEUP = 0x100


class rw_semaphore(Lock):
    __slots__ = ("readers", "read_owners")

    def __init__(self, kernel, key, name=None):
        Lock.__init__(self, kernel, key, name)     # no super() object per anon_vma
        self.readers = 0
        self.read_owners: list = []

    def holders(self) -> list:
        return [self.owner] if self.owner is not None else list(self.read_owners)

    def slowpath_name(self, read: bool) -> str:
        return "rwsem_down_read_slowpath" if read else "rwsem_down_write_slowpath"


def init_rwsem(sem: rw_semaphore) -> None:
    """``init_rwsem()`` of an rwsem that is part of an object's memory and
    is initialised again in place (a slab constructor on a reused slab):
    unlocked, nobody queued, the same lock class.  The object is the same
    one, as the kernel's is the same address."""
    sem.owner = None
    sem.readers = 0
    sem.wait_list.clear()
    sem.read_owners.clear()


def _read_lock(sem: rw_semaphore, task) -> None:
    sem.readers += 1
    sem.read_owners.append(task)


def down_read(sem: rw_semaphore) -> None:
    kernel = sem.kernel
    kernel.might_sleep()
    for probe in kernel.trace.lock_acquire.probes:
        probe(sem, 0, 0, 1, _getframe(1).f_code)
    if sem.owner is None and not sem.wait_list:
        _read_lock(sem, kernel.current)
    else:
        sem._slowpath(1)            # rwsem_down_read_slowpath; granted by the waker


def down_read_trylock(sem: rw_semaphore) -> bool:
    if sem.owner is not None or sem.wait_list:
        return False
    kernel = sem.kernel
    for probe in kernel.trace.lock_acquire.probes:
        probe(sem, 0, 1, 1, _getframe(1).f_code)
    _read_lock(sem, kernel.current)
    return True


def up_read(sem: rw_semaphore) -> None:
    kernel = sem.kernel
    for probe in kernel.trace.lock_release.probes:
        probe(sem, None)
    sem.readers -= 1
    sem.read_owners.remove(kernel.current)
    if not sem.readers and sem.wait_list:
        rwsem_mark_wake(sem)


def down_write(sem: rw_semaphore, subclass: int = 0) -> None:
    kernel = sem.kernel
    kernel.might_sleep()
    probes = kernel.trace.lock_acquire.probes
    if probes:                      # the static key: no loop, no iterator
        for probe in probes:
            probe(sem, subclass, 0, 0, _getframe(1).f_code)
    if sem.owner is None and not sem.readers:
        sem.owner = kernel.current
    else:
        sem._slowpath(0)            # rwsem_down_write_slowpath


# down_write_nested(sem, subclass): down_write() with a lockdep subclass,
# which down_write() takes here as its optional argument.  One function, so
# that every write lock costs one call (without CONFIG_DEBUG_LOCK_ALLOC the
# kernel's down_write_nested is a macro for down_write too).
down_write_nested = down_write


def down_write_trylock(sem: rw_semaphore) -> bool:
    if sem.owner is not None or sem.readers:
        return False
    kernel = sem.kernel
    for probe in kernel.trace.lock_acquire.probes:
        probe(sem, 0, 1, 0, _getframe(1).f_code)
    sem.owner = kernel.current
    return True


def up_write(sem: rw_semaphore) -> None:
    probes = sem.kernel.trace.lock_release.probes
    if probes:
        for probe in probes:
            probe(sem, None)
    sem.owner = None
    if sem.wait_list:
        rwsem_mark_wake(sem)


def rwsem_mark_wake(sem: rw_semaphore) -> None:
    waiter = sem.wait_list[0]
    if not waiter.read:
        del sem.wait_list[0]
        sem.owner = waiter.task
        waiter.granted = True
    else:
        _wake_readers(sem)


def _wake_readers(sem: rw_semaphore) -> None:
    woken = 0
    keep = []
    for waiter in sem.wait_list:
        if waiter.read and woken < MAX_READERS_WAKEUP:
            _read_lock(sem, waiter.task)
            waiter.granted = True
            woken += 1
        else:
            keep.append(waiter)
    sem.wait_list[:] = keep


def rwsem_is_locked(sem: rw_semaphore) -> bool:
    # the lock_is_locked tracepoint as in mutex_is_locked()
    if sem.owner is not None or sem.readers > 0:
        return True
    probes = sem.kernel.trace.lock_is_locked.probes
    if not probes:
        return False
    return any(probe(sem) for probe in probes)
