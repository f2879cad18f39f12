"""spinlock_t (include/linux/spinlock.h).  Waiters spin; a queued spinlock
serves them in FIFO order, which the model's handoff at unlock reproduces."""

from __future__ import annotations

from .lock import Lock


class spinlock_t(Lock):
    __slots__ = ()
    SLOWPATH = "queued_spin_lock_slowpath"
    wait_type = 2


def spin_lock(lock: spinlock_t, subclass: int = 0) -> None:
    lock._lock(subclass, 2)         # queued_spin_lock_slowpath if taken


def spin_lock_nested(lock: spinlock_t, subclass: int) -> None:
    lock._lock(subclass, 2)


def spin_trylock(lock: spinlock_t) -> bool:
    return lock._trylock(2)


def spin_unlock(lock: spinlock_t) -> None:
    lock._unlock()


def spin_is_locked(lock: spinlock_t) -> bool:
    return lock.owner is not None
