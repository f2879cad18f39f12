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


# spin_unlock(): the exclusive release itself, one call (the kernel's
# spin_unlock is an inline wrapper of raw_spin_unlock too).
spin_unlock = spinlock_t._unlock
