"""struct mutex (include/linux/mutex.h).  Waiters sleep."""

from __future__ import annotations

from .lock import Lock


class mutex(Lock):
    __slots__ = ()


def mutex_lock(lock: mutex, subclass: int = 0) -> None:
    lock.kernel.might_sleep()
    lock._acquire(0, 0, subclass)
    if lock.owner is not None:
        lock._contended()
        lock.kernel.sched.wait_for(lock, lambda: lock.owner is None)
        lock._acquired()
    lock.owner = lock.kernel.current


def mutex_trylock(lock: mutex) -> bool:
    if lock.owner is not None:
        return False
    lock._acquire(0, 1)
    lock.owner = lock.kernel.current
    return True


def mutex_unlock(lock: mutex) -> None:
    lock._release()
    lock.owner = None


def mutex_is_locked(lock: mutex) -> bool:
    return lock.owner is not None
