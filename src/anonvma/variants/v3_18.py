"""Linux 3.15 - 3.18 (2014): the interval tree (3.7) and the rwsem (3.8),
but still no anon_vma reuse: every fork gives the child an anon_vma of its
own and a chain one longer than its parent's (history.md B6, unbounded
hierarchy growth, which ``Linux_3_0`` shows on the list).

These classes sit over the 6.18 model: its interval tree, rwsem, VMA merge
machinery (mm/vma.c in place of 3.x's vma_merge/vma_adjust) and mremap,
with the merge rule of ``Linux_6_3`` (965f55dea0e3, 2011, until 6.16: an
unfaulted neighbour never absorbs a faulted range).  They undo what 3.19
added to the anon_vma code: the reuse rule and its counter.

``Linux_3_18`` is 3.18; ``Linux_3_15`` is it without 624483f3ea82 "mm: rmap:
fix use-after-free in __put_anon_vma" (Andrey Ryabinin, June 2014, 3.16-rc,
Cc stable 3.0+), found by KASAN: the old ``__put_anon_vma`` dropped and
maybe freed the root before freeing the child, whose ``anon_vma_free()``
then reads ``child->root->rwsem`` (history.md B5; lore
5391CD5A.20503@samsung.com).

Sources: torvalds/linux mm/rmap.c as stored at 00170fdd0846 (a 3.17-3.18
tree: page_lock_anon_vma_read, SLAB_DESTROY_BY_RCU, no ->degree), cited
below as "3.18 mm/rmap.c:function"; the old __put_anon_vma from the "-"
side of 624483f3ea82 (history.md B5, and the pre-fix function as kept in
kpatsakis/primevul4 44113.c).  3.x's lockdep is the 2011 RECLAIM_FS kind
(the fs_reclaim pseudo-lock came in 4.14), reading 3.x gfp bits.
"""

from __future__ import annotations

from ..kernel.include.errno import ENOMEM
from ..kernel.include.gfp import GFP_KERNEL, GFP_NOWAIT
from ..kernel.kernel.locking.spinlock import spin_lock, spin_unlock
from ..kernel.kernel.locking.lock import lock_class_key
from ..kernel.mm.interval_tree import (
    anon_vma_interval_tree_empty, anon_vma_interval_tree_remove, rb_root_cached,
)
from ..kernel.mm.mm_types import anon_vma_chain
from ..kernel.mm.slub import SLAB_PANIC, SLAB_TYPESAFE_BY_RCU
from .v3_0 import Linux_3_0_rc2
from .v6_3 import Linux_6_3


class anon_vma:
    """3.18 include/linux/rmap.h: root, rwsem, refcount, rb_root.  No
    parent, no counters."""

    __slots__ = ("root", "rwsem", "refcount", "rb_root", "freed")

    def __init__(self):
        self.root = None
        self.rwsem = None
        self.refcount = 0
        self.rb_root = rb_root_cached()
        self.freed = False


class Linux_3_18(Linux_6_3):
    """Linux 3.18: rwsem, interval tree, no anon_vma reuse."""

    name = "v3.18"
    description = ("3.7-3.18: rwsem and interval tree, no anon_vma reuse: "
                   "a forking chain grows without bound (B6)")
    rmap_layout = "interval_tree"
    rmap_counters = None
    anon_vma_lock = "rwsem"
    lockdep_flavour = "reclaim_fs"

    # 2011's lockdep, reading the gfp bits the way 3.x wrote them.
    fs_reclaim_acquire = Linux_3_0_rc2.fs_reclaim_acquire
    fs_reclaim_release = Linux_3_0_rc2.fs_reclaim_release
    _fs_reclaim_acquire = Linux_3_0_rc2._fs_reclaim_acquire
    _fs_reclaim_release = Linux_3_0_rc2._fs_reclaim_release
    # no MREMAP_DONTUNMAP before 5.7
    check_mremap_params = Linux_3_0_rc2.check_mremap_params
    # COW reuse by mapcount and swap count until 5.9 (09854ba94c6a "mm:
    # do_wp_page() simplification" made it refcount-based)
    do_wp_page = Linux_3_0_rc2.do_wp_page
    reuse_swap_page = Linux_3_0_rc2.reuse_swap_page
    # vma_adjust() sets importer->anon_vma only once the clone succeeded
    dup_anon_vma = Linux_3_0_rc2.dup_anon_vma

    def anon_vma_init(self) -> None:
        self.anon_vma_rwsem_key = lock_class_key("&anon_vma->rwsem")
        # 3.18: SLAB_DESTROY_BY_RCU|SLAB_PANIC; KMEM_CACHE(anon_vma_chain, SLAB_PANIC).
        # x86_64 sizes: root 8, rwsem 40, refcount 4 (+4), rb_root 8 = 64.
        self.anon_vma_cachep = self.kmem_cache_create(
            "anon_vma", anon_vma, 64, SLAB_TYPESAFE_BY_RCU | SLAB_PANIC, self.anon_vma_ctor)
        self.anon_vma_chain_cachep = self.kmem_cache_create(
            "anon_vma_chain", anon_vma_chain, 64, SLAB_PANIC)

    def anon_vma_alloc(self) -> anon_vma | None:
        av = self.kmem_cache_alloc(self.anon_vma_cachep, GFP_KERNEL)
        if av is not None:
            av.refcount = 1
            # anon_vma_fork() resets the root to the parent's root.
            av.root = av
        return av

    def _anon_vma_prepare(self, vma) -> int:
        """3.18 mm/rmap.c:anon_vma_prepare, without counters."""
        mm = vma.vm_mm
        self.might_sleep()
        avc = self.anon_vma_chain_alloc(GFP_KERNEL)
        if avc is None:
            return -ENOMEM
        av = self.find_mergeable_anon_vma(vma)
        allocated = None
        if av is None:
            av = self.anon_vma_alloc()
            if av is None:
                self.anon_vma_chain_free(avc)
                return -ENOMEM
            allocated = av

        self.anon_vma_lock_write(av)
        # page_table_lock to protect against threads
        spin_lock(mm.page_table_lock)
        if vma.anon_vma is None:
            vma.anon_vma = av
            self.anon_vma_chain_link(vma, avc, av)
            allocated = None
            avc = None
        spin_unlock(mm.page_table_lock)
        self.anon_vma_unlock_write(av)

        if allocated is not None:
            self.put_anon_vma(allocated)
        if avc is not None:
            self.anon_vma_chain_free(avc)
        return 0

    def anon_vma_clone(self, dst, src) -> int:
        """3.18 mm/rmap.c:anon_vma_clone: dd34739c03f2's GFP_NOWAIT try under
        the root lock, GFP_KERNEL with it dropped; an exact copy, never a
        reuse."""
        root = None
        for pavc in reversed(src.anon_vma_chain):
            avc = self.anon_vma_chain_alloc(GFP_NOWAIT)
            if avc is None:
                self.unlock_anon_vma_root(root)
                root = None
                avc = self.anon_vma_chain_alloc(GFP_KERNEL)
                if avc is None:
                    self.unlink_anon_vmas(dst)
                    return -ENOMEM
            av = pavc.anon_vma
            root = self.lock_anon_vma_root(root, av)
            self.anon_vma_chain_link(dst, avc, av)
        self.unlock_anon_vma_root(root)
        return 0

    def anon_vma_fork(self, vma, pvma) -> int:
        """3.18 mm/rmap.c:anon_vma_fork: clone, then always a new anon_vma."""
        if pvma.anon_vma is None:
            return 0
        # First, attach the new VMA to the parent VMA's anon_vmas, so rmap
        # can find non-COWed pages in child processes.
        if self.anon_vma_clone(vma, pvma):
            return -ENOMEM

        # Then add our own anon_vma.
        av = self.anon_vma_alloc()
        if av is None:
            self.unlink_anon_vmas(vma)
            return -ENOMEM
        avc = self.anon_vma_chain_alloc(GFP_KERNEL)
        if avc is None:
            self.put_anon_vma(av)
            self.unlink_anon_vmas(vma)
            return -ENOMEM

        # The lock lives in the root: pin it as long as this anon_vma lives.
        av.root = pvma.anon_vma.root
        self.get_anon_vma(av.root)
        # Mark this anon_vma as the one where our new (COWed) pages go.
        vma.anon_vma = av
        self.anon_vma_lock_write(av)
        self.anon_vma_chain_link(vma, avc, av)
        self.anon_vma_unlock_write(av)
        return 0

    def unlink_anon_vmas(self, vma) -> None:
        """3.18 mm/rmap.c:unlink_anon_vmas: the two passes, no counters, and
        ``vma->anon_vma`` left set (the VMA is on its way to being freed)."""
        root = None
        chain = vma.anon_vma_chain
        emptied = []
        # newest to oldest, ensuring the root anon_vma gets freed last
        for avc in chain:
            av = avc.anon_vma
            root = self.lock_anon_vma_root(root, av)
            anon_vma_interval_tree_remove(avc, av.rb_root)
            # Leave empty anon_vmas on the list: freed outside the lock.
            if anon_vma_interval_tree_empty(av.rb_root):
                emptied.append(avc)
                continue
            self.anon_vma_chain_free(avc)
        chain.clear()
        chain.extend(emptied)
        self.unlock_anon_vma_root(root)

        while chain:
            avc = chain.pop(0)
            self.put_anon_vma(avc.anon_vma)
            self.anon_vma_chain_free(avc)


class Linux_3_15(Linux_3_18):
    """Linux 3.15: before 624483f3ea82 "mm: rmap: fix use-after-free in
    __put_anon_vma" (B5)."""

    name = "v3.15"
    description = "3.15: __put_anon_vma frees the root before the child (B5, fixed by 624483f3ea82)"

    _put_anon_vma = Linux_3_0_rc2._put_anon_vma
