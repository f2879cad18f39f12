"""struct rw_semaphore (include/linux/rwsem.h, kernel/locking/rwsem.c).

``owner`` is the writer; ``readers`` counts read holders.  As in the kernel,
a waiting writer makes later readers wait too (no reader may overtake a
queued writer), which is why a task that holds a read lock and takes it again
can deadlock.
"""

from __future__ import annotations

from .lock import Lock


class rw_semaphore(Lock):
    __slots__ = ("readers", "writers_waiting")

    def __init__(self, kernel, key, name=None):
        super().__init__(kernel, key, name)
        self.readers = 0
        self.writers_waiting = 0


def _read_free(sem: rw_semaphore) -> bool:
    return sem.owner is None and not sem.writers_waiting


def down_read(sem: rw_semaphore) -> None:
    sem.kernel.might_sleep()
    sem._acquire(1, 0)
    if not _read_free(sem):
        sem._contended()
        sem.kernel.sched.wait_for(sem, lambda: sem.owner is None)
        sem._acquired()
    sem.readers += 1


def down_read_trylock(sem: rw_semaphore) -> bool:
    if not _read_free(sem):
        return False
    sem._acquire(1, 1)
    sem.readers += 1
    return True


def up_read(sem: rw_semaphore) -> None:
    sem._release()
    sem.readers -= 1


def down_write(sem: rw_semaphore, subclass: int = 0) -> None:
    sem.kernel.might_sleep()
    sem._acquire(0, 0, subclass)
    if sem.owner is not None or sem.readers:
        sem._contended()
        sem.writers_waiting += 1
        try:
            sem.kernel.sched.wait_for(sem, lambda: sem.owner is None and not sem.readers)
        finally:
            sem.writers_waiting -= 1
        sem._acquired()
    sem.owner = sem.kernel.current


def down_write_nested(sem: rw_semaphore, subclass: int) -> None:
    down_write(sem, subclass)


def down_write_trylock(sem: rw_semaphore) -> bool:
    if sem.owner is not None or sem.readers:
        return False
    sem._acquire(0, 1)
    sem.owner = sem.kernel.current
    return True


def up_write(sem: rw_semaphore) -> None:
    sem._release()
    sem.owner = None


def rwsem_is_locked(sem: rw_semaphore) -> bool:
    return sem.owner is not None or sem.readers > 0
