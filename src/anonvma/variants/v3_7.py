"""Linux 3.7 (December 2012): the interval tree under the root mutex.

bf181b9f9d8d "mm anon rmap: replace same_anon_vma linked list with an
interval tree" (Michel Lespinasse, 3.7-rc1) keeps an anon_vma's AVCs in
``rb_root``, an interval tree over their VMAs' page offsets, in place of
3.0's ``head`` list: anon_vma_chain_link() is
anon_vma_interval_tree_insert(), unlink_anon_vmas() calls
anon_vma_interval_tree_remove(), rmap walks visit only the AVCs whose
range covers the page, and a VMA whose range changes is taken out of the
trees and put back (anon_vma_interval_tree_pre/post_update_vma in
vma_adjust()).  Every insert and remove runs under the root's lock, which
is still 2b575eb64f7a's mutex: 5a505085f043 "mm/rmap: Convert the struct
anon_vma::mutex to an rwsem" and 4fc3f1d66b1e "mm/rmap, migration: Make
rmap_walk_anon() and try_to_unmap_anon() more scalable" (the walks take it
for read) came in 3.8, which ``Linux_3_8`` adds over this class.

The class sits over ``Linux_3_15`` (the 3.x interval-tree rmap without the
3.19 reuse counters, with 3.0's ``__put_anon_vma`` order) and puts 3.0's
mutex back where 3.8 put the rwsem: the struct, its slab constructor, the
lock and unlock of the root, anon_vma_free()'s test, and the rmap walks'
page_lock_anon_vma(), which 3.7 has as 3.0 had it (trylock, else pin and
sleep on the mutex, no try_lock mode).  Sources: Linux 3.7.2
(robacklin/linux-3.7.2) mm/rmap.c and include/linux/rmap.h, cited as "3.7
file:function": struct anon_vma, anon_vma_ctor(), anon_vma_free(),
lock_anon_vma_root(), anon_vma_clone(), unlink_anon_vmas() and
page_lock_anon_vma() there are 3.0's mutex code over the interval tree,
line for line what the classes this one reuses model.
"""

from __future__ import annotations

from ..kernel.kernel.locking.lock import lock_class_key
from ..kernel.kernel.locking.mutex import mutex
from ..kernel.mm.interval_tree import rb_root_cached
from ..kernel.mm.mm_types import anon_vma_chain
from ..kernel.mm.slub import SLAB_PANIC, SLAB_TYPESAFE_BY_RCU
from .v3_0 import Linux_3_0_rc2
from .v3_18 import Linux_3_15


class anon_vma:
    """3.7 include/linux/rmap.h: root, mutex, refcount, rb_root."""

    __slots__ = ("root", "mutex", "refcount", "rb_root", "freed")

    def __init__(self):
        self.root = None
        self.mutex = None
        self.refcount = 0
        self.rb_root = rb_root_cached()
        self.freed = False


class Linux_3_7(Linux_3_15):
    """Linux 3.7: the interval tree (bf181b9f9d8d), the root mutex."""

    name = "v3.7"
    description = ("3.7: interval tree (bf181b9f9d8d) under the anon_vma root mutex, "
                   "the mutex kernel 3.8's rwsem was measured against")
    anon_vma_lock = "mutex"

    # 3.7's anon_vma_lock()/anon_vma_unlock(), with 3.8's names (see v3_0.py)
    anon_vma_lock_write = Linux_3_0_rc2.anon_vma_lock_write
    anon_vma_unlock_write = Linux_3_0_rc2.anon_vma_unlock_write
    lock_anon_vma_root = Linux_3_0_rc2.lock_anon_vma_root
    unlock_anon_vma_root = Linux_3_0_rc2.unlock_anon_vma_root
    # mutex_is_locked(&anon_vma->root->mutex), then lock and unlock
    anon_vma_free = Linux_3_0_rc2.anon_vma_free
    page_lock_anon_vma = Linux_3_0_rc2.page_lock_anon_vma
    # 3.7's walks (try_to_unmap_anon, page_referenced_anon) end in
    # page_unlock_anon_vma(), which is anon_vma_unlock()
    anon_vma_unlock_read = Linux_3_0_rc2.page_unlock_anon_vma

    def anon_vma_init(self) -> None:
        """3.7 mm/rmap.c:anon_vma_init."""
        self.anon_vma_mutex_key = lock_class_key("&anon_vma->mutex")
        # 3.7: SLAB_DESTROY_BY_RCU|SLAB_PANIC; KMEM_CACHE(anon_vma_chain, SLAB_PANIC).
        # x86_64 sizes: root 8, mutex 32, refcount 4 (+4), rb_root 8 = 56;
        # vma, anon_vma, same_vma, rb, rb_subtree_last = 64.
        self.anon_vma_cachep = self.kmem_cache_create(
            "anon_vma", anon_vma, 56, SLAB_TYPESAFE_BY_RCU | SLAB_PANIC, self.anon_vma_ctor)
        self.anon_vma_chain_cachep = self.kmem_cache_create(
            "anon_vma_chain", anon_vma_chain, 64, SLAB_PANIC)

    def anon_vma_ctor(self, av: anon_vma) -> None:
        # 3.7 mm/rmap.c:anon_vma_ctor: mutex_init(), atomic_set(&refcount,
        # 0), rb_root = RB_ROOT (a slab object's tree is empty whenever it
        # is free)
        av.mutex = mutex(self, self.anon_vma_mutex_key)
        av.refcount = 0

    def folio_lock_anon_vma_read(self, f, rwc):
        """The rmap walks' lock: 3.7's page_lock_anon_vma(), which takes
        the root mutex and has no try_lock mode (reclaim's
        page_referenced() sleeps on it too)."""
        return self.page_lock_anon_vma(f)
