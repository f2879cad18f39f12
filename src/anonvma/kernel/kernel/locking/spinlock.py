"""spinlock_t (include/linux/spinlock.h).  Waiters spin: they stay runnable."""

from __future__ import annotations

from .lock import Lock


class spinlock_t(Lock):
    __slots__ = ()
    wait_type = 2


def spin_lock(lock: spinlock_t) -> None:
    current = lock.kernel.current
    lock._acquire(0, 0)
    if lock.owner is not None:
        lock._contended()
        lock.kernel.sched.wait_for(lock, lambda: lock.owner is None, spin=True)
        lock._acquired()
    lock.owner = current


def spin_trylock(lock: spinlock_t) -> bool:
    if lock.owner is not None:
        return False
    lock._acquire(0, 1)
    lock.owner = lock.kernel.current
    return True


def spin_unlock(lock: spinlock_t) -> None:
    lock._release()
    lock.owner = None
