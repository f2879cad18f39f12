"""struct mutex (include/linux/mutex.h, kernel/locking/mutex.c).  Waiters
sleep, in FIFO order, and are handed the mutex at unlock (see lock.py)."""

from __future__ import annotations

from .lock import Lock


class mutex(Lock):
    __slots__ = ()
    SLOWPATH = "__mutex_lock_slowpath"


def mutex_lock(lock: mutex, subclass: int = 0) -> None:
    lock.kernel.might_sleep()
    lock._lock(subclass, 2)         # __mutex_lock_slowpath if taken


def mutex_trylock(lock: mutex) -> bool:
    return lock._trylock(2)


# mutex_unlock(): the exclusive release itself, one call.
mutex_unlock = mutex._unlock


def mutex_is_locked(lock: mutex) -> bool:
    # A timing layer that keeps the lock's state in virtual time may find it
    # held at the caller's time where the model's lock is already free
    # (the lock_is_locked tracepoint); nobody listening, one truth test.
    if lock.owner is not None:
        return True
    probes = lock.kernel.trace.lock_is_locked.probes
    return bool(probes) and any(probe(lock) for probe in probes)
