"""Linux 3.19 - 5.19: 7a3ef208e662 "mm: prevent endless growth of anon_vma
hierarchy" (Konstantin Khlebnikov, v3.19-rc4, 2015-01-08; history.md B6)
and its two follow-up bugs.

``anon_vma->degree`` counts the VMAs using an anon_vma as their
``vma->anon_vma`` plus its child anon_vmas (a root is its own parent), and
``->parent`` is the anon_vma it was forked from.  On fork anon_vma_clone()
reuses an anon_vma of the parent's chain whose degree is below two (no VMA,
at most one child), never ``src->anon_vma`` itself ("otherwise first child
will always reuse it").  The fork caller is recognised by
``dst->anon_vma == NULL``.

    v3.19-rc4  7a3ef208e662 as merged: vma_adjust() still called
               anon_vma_clone(importer, exporter) with importer->anon_vma
               NULL, so a merge could reuse and count degree on some anon_vma
               before importer->anon_vma was overwritten (B8, "kernel BUG at
               mm/rmap.c:399"); and the clone error path leaves
               dst->anon_vma set, so unlink_anon_vmas() decrements a degree
               that was never incremented (B9).
    v3.19      B8 fixed by "mm: fix corner case in anon_vma endless growing
               prevention" (Konstantin, lore 20150111135406.13266.42007.
               stgit@zurg; b800c91a0517 from memory, not verified): set
               importer->anon_vma before the clone, reset it on failure
               (the dup_anon_vma() of v6_0.py), and reuse only when
               ``src->anon_vma`` is set.
    v4.0       B9 fixed by "mm: fix anon_vma->degree underflow in anon_vma
               endless growing prevention" (Leon Yu, 4.0-rc1, Cc stable 3.19;
               lore 1425384142-5064-1-git-send-email-chianglungyu@gmail.com;
               3fe89b3e2a7b from memory, not verified): ``dst->anon_vma =
               NULL`` on the error path (vma_adjust()'s own reset, now
               redundant, stays until 6.3's dup_anon_vma(); see v6_0.py).
    v5.19      4.0's rmap with the 4.14 lockdep (fs_reclaim pseudo-lock,
               d92a8cfcb37e) and 5.7's MREMAP_DONTUNMAP: the degree rule
               with CVE-2022-42703 present (history.md B10), up to 5.19.6.

The degree eras sit over the 6.18 model (interval tree, rwsem, mm/vma.c)
with the merge rule of their time (``Linux_6_3``'s).  3.19 had
``BUG_ON(anon_vma->degree)`` in unlink_anon_vmas(); the model uses the later
``VM_WARN_ON`` throughout, and the era's invariant is
checks/invariants_degree.py.

Sources: the 4.x-5.19 functions anon_vma_clone, anon_vma_fork and
unlink_anon_vmas as kept in RokkuRock/thesis-eval-2
(vulnerable_code_base/vuln_CWE-416_idx2126.c, idx4604.c, idx315.c), the
7a3ef208e662 commit text (v4 posting, lore 20141217085737.16381.75639.
stgit@zurg), history.md B6, B8, B9, B10; ``anon_vma_alloc``'s ``degree = 1``
("reference for first vma") and __anon_vma_prepare's ``degree++`` ("vma
reference or self-parent link for new root") as in 4.x mm/rmap.c.
"""

from __future__ import annotations

from ..kernel.include.errno import ENOMEM
from ..kernel.include.gfp import GFP_KERNEL, GFP_NOWAIT
from ..kernel.kernel.locking.lock import lock_class_key
from ..kernel.kernel.locking.spinlock import spin_lock, spin_unlock
from ..kernel.mm.interval_tree import (
    anon_vma_interval_tree_empty, anon_vma_interval_tree_remove, rb_root_cached,
)
from ..kernel.mm.mm_types import anon_vma_chain
from ..kernel.mm.slub import SLAB_ACCOUNT, SLAB_PANIC, SLAB_TYPESAFE_BY_RCU
from .v3_0 import Linux_3_0_rc2
from .v3_18 import Linux_3_18
from .v6_0 import Linux_6_0


class anon_vma:
    """4.x include/linux/rmap.h: ``degree`` and ``parent`` (7a3ef208e662)."""

    __slots__ = ("root", "rwsem", "refcount", "degree", "parent", "rb_root", "freed")

    def __init__(self):
        self.root = None
        self.rwsem = None
        self.refcount = 0
        self.degree = 0
        self.parent = None
        self.rb_root = rb_root_cached()
        self.freed = False


class Linux_5_19(Linux_6_0):
    """Linux 5.19: the degree rule, before 2555283eb40d (CVE-2022-42703)."""

    name = "v5.19"
    description = ("4.14-5.19: anon_vma reuse by ->degree (CVE-2022-42703 double reuse "
                   "present, fixed by 2555283eb40d in 6.0 / 5.19.7)")
    rmap_layout = "interval_tree"
    rmap_counters = "degree"
    anon_vma_lock = "rwsem"
    lockdep_flavour = "fs_reclaim"

    def anon_vma_init(self) -> None:
        self.anon_vma_rwsem_key = lock_class_key("&anon_vma->rwsem")
        # x86_64 5.19: root 8, rwsem 40, refcount 4, degree 4, parent 8,
        # rb_root_cached 16 = 80 (72 before 4.15's rb_root_cached).
        self.anon_vma_cachep = self.kmem_cache_create(
            "anon_vma", anon_vma, 80, SLAB_TYPESAFE_BY_RCU | SLAB_PANIC | SLAB_ACCOUNT,
            self.anon_vma_ctor)
        self.anon_vma_chain_cachep = self.kmem_cache_create(
            "anon_vma_chain", anon_vma_chain, 64, SLAB_PANIC | SLAB_ACCOUNT)

    def anon_vma_alloc(self) -> anon_vma | None:
        av = self.kmem_cache_alloc(self.anon_vma_cachep, GFP_KERNEL)
        if av is not None:
            av.refcount = 1
            av.degree = 1               # Reference for first vma
            av.parent = av
            # anon_vma_fork() resets the root to the parent's root.
            av.root = av
        return av

    def _anon_vma_prepare(self, vma) -> int:
        mm = vma.vm_mm
        self.mmap_assert_locked(mm)
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
            # vma reference or self-parent link for new root
            av.degree += 1
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
        root = None
        for pavc in reversed(src.anon_vma_chain):
            avc = self.anon_vma_chain_alloc(GFP_NOWAIT)
            if avc is None:
                self.unlock_anon_vma_root(root)
                root = None
                avc = self.anon_vma_chain_alloc(GFP_KERNEL)
                if avc is None:
                    # Callers ignore dst->anon_vma on failure; clearing it
                    # keeps unlink_anon_vmas() from decrementing a degree
                    # that was never incremented.
                    dst.anon_vma = None
                    self.unlink_anon_vmas(dst)
                    return -ENOMEM
            av = pavc.anon_vma
            root = self.lock_anon_vma_root(root, av)
            self.anon_vma_chain_link(dst, avc, av)

            # Reuse an existing anon_vma whose degree is below two: no VMA
            # and only one child.  Not the parent's (the first child would
            # always reuse it); never the root (self-parent reference and
            # at least one child).
            if (dst.anon_vma is None and src.anon_vma is not None
                    and av is not src.anon_vma and av.degree < 2):
                dst.anon_vma = av
        if dst.anon_vma is not None:
            dst.anon_vma.degree += 1
        self.unlock_anon_vma_root(root)
        return 0

    def anon_vma_fork(self, vma, pvma) -> int:
        if pvma.anon_vma is None:
            return 0
        # Drop inherited anon_vma, we'll reuse existing or allocate new.
        vma.anon_vma = None
        # First, attach the new VMA to the parent VMA's anon_vmas, so rmap
        # can find non-COWed pages in child processes.
        error = self.anon_vma_clone(vma, pvma)
        if error:
            return error
        # An existing anon_vma has been reused, all done then.
        if vma.anon_vma is not None:
            return 0

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

        av.root = pvma.anon_vma.root
        av.parent = pvma.anon_vma
        # The root anon_vma needs to be pinned until this anon_vma is
        # freed, because the lock lives in the root.
        self.get_anon_vma(av.root)
        # Mark this anon_vma as the one where our new (COWed) pages go.
        vma.anon_vma = av
        self.anon_vma_lock_write(av)
        self.anon_vma_chain_link(vma, avc, av)
        av.parent.degree += 1
        self.anon_vma_unlock_write(av)
        return 0

    def unlink_anon_vmas(self, vma) -> None:
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
                av.parent.degree -= 1
                emptied.append(avc)
                continue
            self.anon_vma_chain_free(avc)
        chain.clear()
        chain.extend(emptied)
        if vma.anon_vma is not None:
            vma.anon_vma.degree -= 1
            vma.anon_vma = None
        self.unlock_anon_vma_root(root)

        while chain:
            avc = chain.pop(0)
            av = avc.anon_vma
            self.VM_WARN_ON(av.degree, "unlink_anon_vmas: degree")
            self.put_anon_vma(av)
            self.anon_vma_chain_free(avc)


class Linux_4_0(Linux_5_19):
    """Linux 4.0 - 4.13: the degree rule with B8 and B9 fixed, 2011 lockdep."""

    name = "v4.0"
    description = "4.0-4.13: anon_vma reuse by ->degree, B8 and B9 fixed; RECLAIM_FS lockdep"
    lockdep_flavour = "reclaim_fs"

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


class Linux_3_19(Linux_4_0):
    """Linux 3.19: B8 fixed, B9 (degree underflow on the clone error path)
    present."""

    name = "v3.19"
    description = "3.19: ->degree reuse, B8 fixed; clone error path leaves dst->anon_vma set (B9)"

    def anon_vma_clone(self, dst, src) -> int:
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

            # Reuse an existing anon_vma whose degree is below two: no VMA
            # and only one child.  Not the parent's (the first child would
            # always reuse it); never the root (self-parent reference and
            # at least one child).
            if (dst.anon_vma is None and src.anon_vma is not None
                    and av is not src.anon_vma and av.degree < 2):
                dst.anon_vma = av
        if dst.anon_vma is not None:
            dst.anon_vma.degree += 1
        self.unlock_anon_vma_root(root)
        return 0


class Linux_3_19_rc4(Linux_3_19):
    """Linux 3.19-rc4: 7a3ef208e662 as merged (B8 and B9)."""

    name = "v3.19-rc4"
    description = ("3.19-rc4: 7a3ef208e662 ->degree reuse; vma_adjust clones with "
                   "importer->anon_vma NULL (B8) and the error path underflows degree (B9)")

    def anon_vma_clone(self, dst, src) -> int:
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

            # Reuse an existing anon_vma whose degree is below two: no VMA
            # and only one child.  Not the parent's (the first child would
            # always reuse it); never the root (self-parent reference and
            # at least one child).
            if dst.anon_vma is None and av is not src.anon_vma and av.degree < 2:
                dst.anon_vma = av
        if dst.anon_vma is not None:
            dst.anon_vma.degree += 1
        self.unlock_anon_vma_root(root)
        return 0

    dup_anon_vma = Linux_3_18.dup_anon_vma
