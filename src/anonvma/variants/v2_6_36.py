"""Linux 2.6.36 (August-October 2010): every anon_vma of a fork tree shares
the root's spinlock, and page_lock_anon_vma() finds the anon_vma under
rcu_read_lock only.

Rik van Riel's "always lock the root (oldest) anon_vma" series (5c341ee1dfc8
"mm: track the root (oldest) anon_vma", 012f18004da3 "mm: always lock the root
(oldest) anon_vma") made ``anon_vma_lock()`` take ``anon_vma->root->lock``.
The anon_vma cache is SLAB_DESTROY_BY_RCU: an rcu reader is guaranteed that
the memory stays *an* anon_vma, not that it stays *this* anon_vma, and
anon_vma_prepare()/anon_vma_fork() set ``->root`` on a reused object.  So
``page_lock_anon_vma()`` could lock root1, the object could be freed and
reused with root2, and ``page_unlock_anon_vma()``, which re-reads
``anon_vma->root``, unlocked root2: Hugh Dickins's kbuild box hung with
anon_vma_prepare() spinning on a newly allocated anon_vma's lock (history.md
B4; lore alpine.LSU.2.00.1008252305540.19107@sister.anvils).

``Linux_2_6_36_rc1`` is 2.6.36-rc1 with that lookup; ``Linux_2_6_36`` has
Hugh Dickins's f18194275c39 "mm: fix hang on anon_vma->root->lock"
(2.6.36-rc3): snapshot the root, lock it, and keep the anon_vma only if the
page is still mapped, which is what keeps the object from being reused
while the lock is held.  That is the lookup ``Linux_2_6_39`` already has,
so ``Linux_2_6_36`` is 2.6.39's code under 2.6.36's name: nothing else in
the rmap code the model keeps changed between them (2.6.39 differs in
KSM/migration's external refcount, which the model does not have; see
v2_6_39.py).  (The same mistake came back in 3.0-rc with the mutex, a
refcount check in place of the page_mapped() one: eee0f252c653 "mm: fix
page_lock_anon_vma leaving mutex locked", which the model's 3.0-rc
already has.)

The window is between the load of ``anon_vma->root`` and the spin: the
reader is preempted there (``preempt_schedule_irq()``, under ``set preempt
full``, as CONFIG_TREE_PREEMPT_RCU made likelier on Hugh's box), the
page's last mapper exits and frees the anon_vma, and a fork or a first
write fault elsewhere takes the slot (the free list is LIFO) with a root
of another tree.

Sources: Hugh's patch as posted (https://lkml.iu.edu/hypermail/linux/kernel/
1008.3/01466.html, its "-" lines are the 2.6.36-rc1 function), 2.6.39's
mm/rmap.c for the rest.
"""

from __future__ import annotations

from ..kernel.kernel.locking.spinlock import spin_lock
from .v2_6_39 import Linux_2_6_39, anon_vma


class Linux_2_6_36(Linux_2_6_39):
    """Linux 2.6.36 with "mm: fix hang on anon_vma->root->lock"."""

    name = "v2.6.36"
    description = ("2.6.36: root spinlock; page_lock_anon_vma rechecks page_mapped() "
                   "under the snapshotted root lock (Hugh Dickins's B4 fix)")


class Linux_2_6_36_rc1(Linux_2_6_36):
    """Linux 2.6.36-rc1: the lookup before Hugh Dickins's fix (B4)."""

    name = "v2.6.36-rc1"
    description = ("2.6.36-rc1: page_lock_anon_vma locks anon_vma->root without "
                   "rechecking page_mapped() (B4: unlock of a reused anon_vma's new root)")

    def page_lock_anon_vma(self, page) -> anon_vma | None:
        """2.6.36-rc1 mm/rmap.c:page_lock_anon_vma: anon_vma_lock() spins
        on the lock of ``anon_vma->root`` as read then, and returns without
        looking at the page again.  If the page was unmapped meanwhile, the
        anon_vma may have been freed and its slot reused for another
        anon_vma with another root; page_unlock_anon_vma() reads ``->root``
        again and unlocks that one."""
        self.rcu_read_lock()
        av = self.folio_anon_vma(page)
        if av is None or not self.folio_mapped(page):
            self.rcu_read_unlock()
            return None
        root = av.root                      # &anon_vma->root->lock
        self.preempt_schedule_irq()
        spin_lock(root.lock)
        return av
