"""struct mutex (include/linux/mutex.h, kernel/locking/mutex.c).  Waiters
sleep, in FIFO order, and are handed the mutex at unlock (see lock.py)."""

from __future__ import annotations

from .lock import Lock


class mutex(Lock):
    __slots__ = ()


def mutex_lock(lock: mutex, subclass: int = 0) -> None:
    kernel = lock.kernel
    kernel.might_sleep()
    lock._acquire(0, 0, subclass)
    if lock.owner is None:
        lock.owner = kernel.current
    else:
        lock._slowpath(0)           # __mutex_lock_slowpath; owner set by the unlocker


def mutex_lock_nested(lock: mutex, subclass: int) -> None:
    mutex_lock(lock, subclass)


def mutex_trylock(lock: mutex) -> bool:
    if lock.owner is not None:
        return False
    lock._acquire(0, 1)
    lock.owner = lock.kernel.current
    return True


def mutex_unlock(lock: mutex) -> None:
    lock._release()
    if lock.wait_list:
        waiter = lock.wait_list.pop(0)      # __mutex_unlock_slowpath: handoff
        lock.owner = waiter.task
        waiter.granted = True
    else:
        lock.owner = None


def mutex_is_locked(lock: mutex) -> bool:
    return lock.owner is not None
