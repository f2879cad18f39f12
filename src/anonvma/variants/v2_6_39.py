"""Linux 2.6.39 (May 2011): the anon_vma lock is still a spinlock.

A step back from ``Linux_3_0_rc2``: this class undoes 2b575eb64f7a "mm:
convert anon_vma->lock to a mutex" and Linus's lock batching of June 2011
(bb4aa39676f7 for anon_vma_clone, the two-pass unlink_anon_vmas).  So
``anon_vma_chain_link()`` takes and drops the root lock for every AVC,
``anon_vma_clone()`` allocates with GFP_KERNEL while holding no lock, and
``page_lock_anon_vma()`` spins on the root lock under rcu_read_lock.

Sources: the bb4aa39676f7 diff and the unlink batching diff (their "-"
lines are the 2.6.39 code; history.md §1.1), and 3.0.1 for everything the
two kernels share.  Approximate: 2.6.39 still counted external references
(``external_refcount``, KSM and migration) and freed anon_vmas through
``drop_anon_vma()``; the model keeps 3.0's simplified refcount (83813267c699,
merged for 3.0), which agrees with it whenever nothing but VMAs and pages
refer to an anon_vma, as in every scenario.
"""

from __future__ import annotations

from ..kernel.include.errno import ENOMEM
from ..kernel.kernel.locking.lock import lock_class_key
from ..kernel.kernel.locking.spinlock import spin_lock, spin_unlock, spinlock_t
from ..kernel.mm.slub import SLAB_PANIC, SLAB_TYPESAFE_BY_RCU
from .v3_0 import GFP_KERNEL, Linux_3_0_rc2, anon_vma_chain


class anon_vma:
    """2.6.39 include/linux/rmap.h: ``lock`` is a spinlock_t."""

    __slots__ = ("root", "lock", "refcount", "head", "freed")

    def __init__(self):
        self.root = None
        self.lock = None
        self.refcount = 0
        self.head = {}
        self.freed = False


class Linux_2_6_39(Linux_3_0_rc2):
    """Linux 2.6.39: spinlock, per-AVC locking, allocation outside the lock."""

    name = "v2.6.39"
    description = "2.6.39: anon_vma->lock spinlock taken per AVC, allocations outside it"
    anon_vma_lock = "spinlock"

    def anon_vma_lock_write(self, av: anon_vma) -> None:
        spin_lock(av.root.lock)

    def anon_vma_unlock_write(self, av: anon_vma) -> None:
        spin_unlock(av.root.lock)

    def anon_vma_init(self) -> None:
        # root, spinlock, refcount, head: 32 bytes
        self.anon_vma_lock_key = lock_class_key("&anon_vma->lock")
        self.anon_vma_cachep = self.kmem_cache_create(
            "anon_vma", anon_vma, 32, SLAB_TYPESAFE_BY_RCU | SLAB_PANIC, self.anon_vma_ctor)
        self.anon_vma_chain_cachep = self.kmem_cache_create(
            "anon_vma_chain", anon_vma_chain, 48, SLAB_PANIC)

    def anon_vma_ctor(self, av: anon_vma) -> None:
        av.lock = spinlock_t(self, self.anon_vma_lock_key)
        av.refcount = 0
        av.head = {}

    def anon_vma_free(self, av: anon_vma) -> None:
        # No lock/unlock barrier: page_lock_anon_vma() holds rcu_read_lock
        # and re-checks page_mapped() under the spinlock instead.
        assert av.refcount == 0, "VM_BUG_ON(atomic_read(&anon_vma->refcount))"
        self.kmem_cache_free(self.anon_vma_cachep, av)

    def anon_vma_chain_link(self, vma, avc: anon_vma_chain, av: anon_vma) -> None:
        avc.vma = vma
        avc.anon_vma = av
        vma.anon_vma_chain.insert(0, avc)          # list_add()
        self.anon_vma_lock_write(av)
        # It's critical to add new vmas to the tail of the anon_vma.
        av.head[avc] = None                         # list_add_tail()
        self.anon_vma_unlock_write(av)

    def anon_vma_clone(self, dst, src) -> int:
        # Every allocation happens with no anon_vma lock held.
        for pavc in reversed(src.anon_vma_chain):
            avc = self.anon_vma_chain_alloc(GFP_KERNEL)
            if avc is None:
                self.unlink_anon_vmas(dst)
                return -ENOMEM
            self.anon_vma_chain_link(dst, avc, pavc.anon_vma)
        return 0

    def anon_vma_fork(self, vma, pvma) -> int:
        if pvma.anon_vma is None:
            return 0
        if self.anon_vma_clone(vma, pvma):
            return -ENOMEM
        av = self.anon_vma_alloc()
        if av is None:
            self.unlink_anon_vmas(vma)
            return -ENOMEM
        avc = self.anon_vma_chain_alloc(GFP_KERNEL)
        if avc is None:
            self.put_anon_vma(av)
            self.unlink_anon_vmas(vma)
            return -ENOMEM
        av.root = pvma.anon_vma.root
        self.get_anon_vma(av.root)
        vma.anon_vma = av
        self.anon_vma_chain_link(vma, avc, av)      # takes the lock itself
        return 0

    def anon_vma_unlink(self, avc: anon_vma_chain) -> None:
        """2.6.39 mm/rmap.c:anon_vma_unlink: one lock round trip per AVC."""
        av = avc.anon_vma
        self.anon_vma_lock_write(av)
        del av.head[avc]                            # list_del(&avc->same_anon_vma)
        # We must garbage collect the anon_vma if it's empty
        empty = not av.head
        self.anon_vma_unlock_write(av)
        if empty:
            self.put_anon_vma(av)

    def unlink_anon_vmas(self, vma) -> None:
        # newest to oldest, so the root anon_vma gets freed last
        chain = vma.anon_vma_chain
        while chain:
            avc = chain.pop(0)
            self.anon_vma_unlink(avc)
            self.anon_vma_chain_free(avc)

    def page_lock_anon_vma(self, page) -> anon_vma | None:
        """2.6.39 mm/rmap.c:__page_lock_anon_vma: under rcu_read_lock() the
        anon_vma's memory stays an anon_vma, but its slot may have been
        reused for another one since the page was unmapped.  So read the
        root once, spin on that root's lock, and keep the anon_vma only if
        the page is still mapped: then it is the page's anon_vma, and it
        cannot be freed while we hold the lock.  The read section lasts
        until page_unlock_anon_vma()."""
        self.rcu_read_lock()
        av = self.folio_anon_vma(page)
        if av is None or not self.folio_mapped(page):
            self.rcu_read_unlock()
            return None
        root = av.root                      # ACCESS_ONCE(anon_vma->root)
        self.preempt_schedule_irq()
        spin_lock(root.lock)
        if self.folio_mapped(page):
            return av
        spin_unlock(root.lock)
        self.rcu_read_unlock()
        return None

    def page_unlock_anon_vma(self, av: anon_vma) -> None:
        self.anon_vma_unlock_write(av)      # anon_vma->root, read again
        self.rcu_read_unlock()
