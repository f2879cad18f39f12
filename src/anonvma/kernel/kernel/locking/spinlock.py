"""spinlock_t (include/linux/spinlock.h).  Waiters spin; a queued spinlock
serves them in FIFO order, which the model's handoff at unlock reproduces."""

from __future__ import annotations

from .lock import Lock


class spinlock_t(Lock):
    __slots__ = ()
    wait_type = 2


def spin_lock(lock: spinlock_t, subclass: int = 0) -> None:
    lock._acquire(0, 0, subclass)
    if lock.owner is None:
        lock.owner = lock.kernel.current
    else:
        lock._slowpath(0)           # queued_spin_lock_slowpath


def spin_lock_nested(lock: spinlock_t, subclass: int) -> None:
    spin_lock(lock, subclass)


def spin_trylock(lock: spinlock_t) -> bool:
    if lock.owner is not None:
        return False
    lock._acquire(0, 1)
    lock.owner = lock.kernel.current
    return True


def spin_unlock(lock: spinlock_t) -> None:
    lock._release()
    if lock.wait_list:
        waiter = lock.wait_list.pop(0)      # the MCS queue head gets it next
        lock.owner = waiter.task
        waiter.granted = True
    else:
        lock.owner = None


def spin_is_locked(lock: spinlock_t) -> bool:
    return lock.owner is not None
