"""include/linux/mmap_lock.h: the mmap_lock and the per-VMA write lock.

Faults in 6.18 first try the per-VMA read lock and fall back to the
mmap_lock; the model takes the mmap_lock for every fault, which is the
fallback path and the one ``__anon_vma_prepare`` requires anyway.
``vma_start_write`` is kept at the places the kernel calls it, so that the
concurrency work can give it its meaning.
"""

from __future__ import annotations

from ..kernel.locking.rwsem import down_read, down_write, up_read, up_write


class MmapLock:
    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def mmap_read_lock(self, mm) -> None:
        down_read(mm.mmap_lock)

    def mmap_read_unlock(self, mm) -> None:
        up_read(mm.mmap_lock)

    def mmap_write_lock(self, mm) -> None:
        down_write(mm.mmap_lock)

    def mmap_write_lock_nested(self, mm, subclass: int) -> None:
        down_write(mm.mmap_lock, subclass)

    def mmap_write_unlock(self, mm) -> None:
        up_write(mm.mmap_lock)

    def mmap_assert_locked(self, mm) -> None:
        lock = mm.mmap_lock
        self.VM_BUG_ON(lock.owner is None and not lock.readers, "mmap_assert_locked: mmap_lock not held")

    def mmap_assert_write_locked(self, mm) -> None:
        self.VM_BUG_ON(mm.mmap_lock.owner is not self.current,
                       "mmap_assert_write_locked: mmap_lock not held for write")

    def vma_start_write(self, vma) -> None:
        """Exclude per-VMA-lock faults from ``vma``; the mmap write lock,
        which every caller holds, already excludes the model's faults."""
