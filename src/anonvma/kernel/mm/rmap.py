"""mm/rmap.c and the inline helpers of include/linux/rmap.h (Linux 6.18).

Lock ordering, as at the top of mm/rmap.c (the part the model takes):

  mm->mmap_lock
    folio_lock
      anon_vma->rwsem              (only ever the root's)
        mm->page_table_lock or pte_lock

Every anon_vma of one fork tree shares the lock of the tree's root; that is
why the root is pinned by every anon_vma beneath it (``get_anon_vma(root)``
in ``anon_vma_fork``) and freed last.

Where Python departs from C: ``folio->mapping`` holds the anon_vma itself,
not its address with FOLIO_MAPPING_ANON set; reference counts are plain
integers (the model's tasks switch only at scheduling points, so the atomic
operations of the kernel are atomic here by construction).  Kernel functions
whose names begin with two underscores keep one (``__anon_vma_prepare`` is
``_anon_vma_prepare``) throughout the model: Python mangles double-underscore
names inside a class, and the mangled name could not be overridden by the
classes of ``variants/``.
"""

from __future__ import annotations

from ..include.errno import ENOMEM
from ..include.gfp import GFP_KERNEL, GFP_NOWAIT
from ..include.mm import PAGE_SHIFT, VM_LOCKED, vma_address, linear_page_index
from ..kernel.locking.lock import lock_class_key
from ..kernel.locking.rwsem import (
    down_read, down_read_trylock, down_write, init_rwsem, rw_semaphore, rwsem_is_locked,
    up_read, up_write,
)
from ..kernel.locking.spinlock import spin_lock, spin_unlock
from .interval_tree import (
    anon_vma_interval_tree_foreach,
    anon_vma_interval_tree_insert, anon_vma_interval_tree_remove,
)
from .mm_types import anon_vma, anon_vma_chain, swp_pte_t
from .slub import SLAB_ACCOUNT, SLAB_PANIC, SLAB_TYPESAFE_BY_RCU


class rmap_walk_control:
    """include/linux/rmap.h: what an rmap walk does at each mapping."""

    __slots__ = ("arg", "rmap_one", "done", "anon_lock", "invalid_vma", "try_lock",
                 "contended")

    def __init__(self, rmap_one, arg=None, done=None, anon_lock=None, invalid_vma=None,
                 try_lock=False):
        self.arg = arg
        self.rmap_one = rmap_one
        self.done = done
        self.anon_lock = anon_lock
        self.invalid_vma = invalid_vma
        self.try_lock = try_lock
        self.contended = False


class Rmap:
    """The anon_vma half of mm/rmap.c, mixed into the kernel."""

    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    # -- include/linux/rmap.h ------------------------------------------------

    def get_anon_vma(self, av: anon_vma) -> None:
        av.refcount += 1

    def put_anon_vma(self, av: anon_vma) -> None:
        av.refcount -= 1
        if av.refcount == 0:
            self._put_anon_vma(av)

    def anon_vma_lock_write(self, av: anon_vma) -> None:
        down_write(av.root.rwsem)

    def anon_vma_unlock_write(self, av: anon_vma) -> None:
        up_write(av.root.rwsem)

    def anon_vma_lock_read(self, av: anon_vma) -> None:
        down_read(av.root.rwsem)

    def anon_vma_trylock_read(self, av: anon_vma) -> bool:
        return down_read_trylock(av.root.rwsem)

    def anon_vma_unlock_read(self, av: anon_vma) -> None:
        up_read(av.root.rwsem)

    def anon_vma_prepare(self, vma) -> int:
        if vma.anon_vma is not None:
            return 0
        return self._anon_vma_prepare(vma)

    def anon_vma_merge(self, vma, next) -> None:
        assert vma.anon_vma is next.anon_vma, "VM_BUG_ON_VMA(vma->anon_vma != next->anon_vma)"
        self.unlink_anon_vmas(next)

    # -- allocation ------------------------------------------------------------

    def anon_vma_init(self) -> None:
        # anon_vma_ctor() runs once per slab object, so every anon_vma rwsem
        # is initialised at the same place: one lockdep class for them all.
        self.anon_vma_rwsem_key = lock_class_key("&anon_vma->rwsem")
        self.anon_vma_cachep = self.kmem_cache_create(
            "anon_vma", anon_vma, 96, SLAB_TYPESAFE_BY_RCU | SLAB_PANIC | SLAB_ACCOUNT,
            self.anon_vma_ctor)
        self.anon_vma_chain_cachep = self.kmem_cache_create(
            "anon_vma_chain", anon_vma_chain, 64, SLAB_PANIC | SLAB_ACCOUNT)

    def anon_vma_ctor(self, av: anon_vma) -> None:
        if av.rwsem is None:
            av.rwsem = rw_semaphore(self, self.anon_vma_rwsem_key)
        else:
            # an object of a discarded slab: its rwsem is part of its memory
            init_rwsem(av.rwsem)
        av.refcount = 0

    def anon_vma_alloc(self) -> anon_vma | None:
        av = self.kmem_cache_alloc(self.anon_vma_cachep, GFP_KERNEL)
        if av is not None:
            av.refcount = 1
            av.num_children = 0
            av.num_active_vmas = 0
            av.parent = av
            # The root points to itself; anon_vma_fork() resets it to the
            # parent's root.
            av.root = av
        return av

    def anon_vma_free(self, av: anon_vma) -> None:
        assert av.refcount == 0, "VM_BUG_ON(atomic_read(&anon_vma->refcount))"
        # Synchronise with folio_lock_anon_vma_read(), which may have taken
        # the root lock without a reference after seeing this anon_vma: the
        # write lock waits until such a reader has left.
        self.might_sleep()
        if rwsem_is_locked(av.root.rwsem):
            self.anon_vma_lock_write(av)
            self.anon_vma_unlock_write(av)
        self.kmem_cache_free(self.anon_vma_cachep, av)

    def anon_vma_chain_alloc(self, gfp: int) -> anon_vma_chain | None:
        return self.kmem_cache_alloc(self.anon_vma_chain_cachep, gfp)

    def anon_vma_chain_free(self, avc: anon_vma_chain) -> None:
        self.kmem_cache_free(self.anon_vma_chain_cachep, avc)

    def anon_vma_chain_link(self, vma, avc: anon_vma_chain, av: anon_vma) -> None:
        avc.vma = vma
        avc.anon_vma = av
        vma.anon_vma_chain.insert(0, avc)          # list_add()
        anon_vma_interval_tree_insert(avc, av.rb_root)

    # -- attaching VMAs ----------------------------------------------------------

    def _anon_vma_prepare(self, vma) -> int:
        """Attach an anon_vma to ``vma`` at its first write fault: an adjacent
        VMA's, if ``find_mergeable_anon_vma`` finds one, else a new root."""
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
            av.num_children += 1        # self-parent link for a new root
            allocated = av

        self.anon_vma_lock_write(av)
        # page_table_lock protects against threads faulting the same VMA
        spin_lock(mm.page_table_lock)
        if vma.anon_vma is None:
            vma.anon_vma = av
            self.anon_vma_chain_link(vma, avc, av)
            av.num_active_vmas += 1
            allocated = None
            avc = None
        spin_unlock(mm.page_table_lock)
        self.anon_vma_unlock_write(av)

        if allocated is not None:
            self.put_anon_vma(allocated)
        if avc is not None:
            self.anon_vma_chain_free(avc)
        return 0

    def lock_anon_vma_root(self, root: anon_vma | None, av: anon_vma) -> anon_vma:
        """Take the root lock once for a whole walk of a VMA's chain: every
        anon_vma on one chain has the same root."""
        new_root = av.root
        if new_root is not root:
            if root is not None:
                self.WARN_ON_ONCE("lock_anon_vma_root: two roots on one anon_vma_chain")
                up_write(root.rwsem)
            root = new_root
            down_write(root.rwsem)
        return root

    def unlock_anon_vma_root(self, root: anon_vma | None) -> None:
        if root is not None:
            up_write(root.rwsem)

    def anon_vma_clone(self, dst, src) -> int:
        """Give ``dst`` an anon_vma_chain for every anon_vma on ``src``'s chain.

        Split, merge and mremap want an exact copy (they set dst->anon_vma
        beforehand); anon_vma_fork() leaves dst->anon_vma NULL so that an
        anon_vma with no VMA and at most one child can be reused, which
        keeps a constantly forking task from growing an endless chain.
        """
        root = None
        # Oldest first, so the root is locked first and dst's chain, built
        # by head insertion, ends up in src's order.
        for pavc in reversed(src.anon_vma_chain):
            # Never an allocation that may reclaim under the anon_vma lock:
            # reclaim takes the same lock (the 2011 seed fix).
            avc = self.anon_vma_chain_alloc(GFP_NOWAIT)
            if avc is None:
                self.unlock_anon_vma_root(root)
                root = None
                avc = self.anon_vma_chain_alloc(GFP_KERNEL)
                if avc is None:
                    # callers ignore dst->anon_vma on failure; clearing it
                    # keeps unlink_anon_vmas() from decrementing
                    # num_active_vmas for a VMA that was never counted
                    dst.anon_vma = None
                    self.unlink_anon_vmas(dst)
                    return -ENOMEM
            av = pavc.anon_vma
            root = self.lock_anon_vma_root(root, av)
            self.anon_vma_chain_link(dst, avc, av)

            # Reuse an anon_vma with no VMA and only one child.  A root is
            # never reused: it is its own child and has at least one more.
            if (dst.anon_vma is None and src.anon_vma is not None
                    and av.num_children < 2 and av.num_active_vmas == 0):
                dst.anon_vma = av
        if dst.anon_vma is not None:
            dst.anon_vma.num_active_vmas += 1
        self.unlock_anon_vma_root(root)
        return 0

    def anon_vma_fork(self, vma, pvma) -> int:
        """Attach the child's ``vma`` to every anon_vma of the parent's
        ``pvma``, then to an anon_vma of its own (unless one was reused)."""
        if pvma.anon_vma is None:
            return 0

        # Drop the inherited anon_vma: we reuse an existing one or allocate.
        vma.anon_vma = None

        # First attach to the parent's anon_vmas, so that rmap finds the
        # pages the child still shares with the parent.
        error = self.anon_vma_clone(vma, pvma)
        if error:
            return error

        if vma.anon_vma is not None:
            return 0

        av = self.anon_vma_alloc()
        if av is None:
            self.unlink_anon_vmas(vma)
            return -ENOMEM
        av.num_active_vmas += 1
        avc = self.anon_vma_chain_alloc(GFP_KERNEL)
        if avc is None:
            self.put_anon_vma(av)
            self.unlink_anon_vmas(vma)
            return -ENOMEM

        # The root's rwsem is the lock of the whole tree, so the root must
        # live as long as this anon_vma does.
        av.root = pvma.anon_vma.root
        av.parent = pvma.anon_vma
        self.get_anon_vma(av.root)
        # New (COWed) pages of the child go here.
        vma.anon_vma = av
        self.anon_vma_lock_write(av)
        self.anon_vma_chain_link(vma, avc, av)
        av.parent.num_children += 1
        self.anon_vma_unlock_write(av)
        return 0

    def unlink_anon_vmas(self, vma) -> None:
        """Detach ``vma`` from every anon_vma on its chain and free the
        anon_vmas that empties.

        The chain is ordered newest to oldest, so the root goes last.  The
        first loop runs under the root lock; anon_vmas it leaves empty are
        put in the second loop, without the lock, because __put_anon_vma()
        may need to take it.
        """
        root = None
        chain = vma.anon_vma_chain
        emptied = []
        for avc in chain:
            av = avc.anon_vma
            root = self.lock_anon_vma_root(root, av)
            anon_vma_interval_tree_remove(avc, av.rb_root)
            # Leave empty anon_vmas on the list: they are freed below.
            if av.rb_root.rb_node is None:     # RB_EMPTY_ROOT(), a macro
                av.parent.num_children -= 1
                emptied.append(avc)
                continue
            self.anon_vma_chain_free(avc)
        chain[:] = emptied
        if vma.anon_vma is not None:
            vma.anon_vma.num_active_vmas -= 1
            # The VMA may live on (MREMAP_DONTUNMAP): its next fault
            # prepares a fresh anon_vma.
            vma.anon_vma = None
        self.unlock_anon_vma_root(root)

        while chain:
            avc = chain.pop(0)
            av = avc.anon_vma
            # VM_WARN_ON() is a macro: the test inline, the report a call
            if av.num_children:
                self.VM_WARN_ON(True, "unlink_anon_vmas: num_children")
            if av.num_active_vmas:
                self.VM_WARN_ON(True, "unlink_anon_vmas: num_active_vmas")
            self.put_anon_vma(av)
            self.anon_vma_chain_free(avc)

    def _put_anon_vma(self, av: anon_vma) -> None:
        """Free an anon_vma whose last reference is gone, then drop the
        reference it held on its root (freeing the root last)."""
        root = av.root
        self.anon_vma_free(av)
        if root is not av:
            root.refcount -= 1
            if root.refcount == 0:
                self.anon_vma_free(root)

    # -- folios ------------------------------------------------------------------

    def folio_anon_vma(self, f) -> anon_vma | None:
        """mm/util.c: the anon_vma of an anonymous folio (NULL for KSM)."""
        return f.mapping

    def folio_mapped(self, f) -> bool:
        return f._mapcount >= 0

    def _folio_set_anon(self, f, vma, address: int, exclusive: bool) -> None:
        av = vma.anon_vma
        assert av is not None, "BUG_ON(!anon_vma)"
        # A folio that may be shared goes to the root, the oldest anon_vma
        # every process that can map it is linked to.
        if not exclusive:
            av = av.root
        f.mapping = av
        f.index = linear_page_index(vma, address)

    def _folio_rmap_sanity_checks(self, f) -> None:
        """CONFIG_DEBUG_VM's anon_vma lifetime check (Jann Horn, 2025): a
        folio whose rmap changes must name an anon_vma something still
        holds; refcount 0 is a freed (or freeing) anon_vma."""
        av = f.mapping
        if av is not None and av.refcount == 0:
            self.VM_WARN_ON(True, "__folio_rmap_sanity_checks: the folio's anon_vma has "
                            "refcount 0")

    def folio_add_new_anon_rmap(self, f, vma, address: int, exclusive: bool) -> None:
        self._folio_set_anon(f, vma, address, exclusive)
        f._mapcount = 0
        f.anon_exclusive = exclusive

    def folio_add_anon_rmap_pte(self, f, vma, address: int) -> None:
        """Map an already anonymous folio once more: mapping never changes."""
        self._folio_rmap_sanity_checks(f)
        self._page_check_anon_rmap(f, vma, address)
        f._mapcount += 1

    def folio_try_dup_anon_rmap_pte(self, f, src_vma) -> int:
        """Fork shares the page with the child: it stops being exclusive."""
        self._folio_rmap_sanity_checks(f)
        f.anon_exclusive = False
        f._mapcount += 1
        return 0

    def folio_remove_rmap_pte(self, f, vma) -> None:
        self._folio_rmap_sanity_checks(f)
        # ->mapping stays until the folio is freed; every rmap user
        # re-checks folio_mapped() for that reason.
        f._mapcount -= 1
        if f._mapcount < 0:
            f.anon_exclusive = False

    def folio_move_anon_rmap(self, f, vma) -> None:
        """The faulting VMA now owns the folio alone: point it at its anon_vma."""
        assert f.locked, "VM_BUG_ON_FOLIO(!folio_test_locked(folio))"
        av = vma.anon_vma
        assert av is not None
        f.mapping = av

    def _page_check_anon_rmap(self, f, vma, address: int) -> None:
        # The VM_BUG_ONs of CONFIG_DEBUG_VM: same root, same linear index.
        av = self.folio_anon_vma(f)
        if av is None:
            return
        self.VM_BUG_ON(av.root is not vma.anon_vma.root,
                       "_page_check_anon_rmap: folio and VMA have different anon_vma roots")
        self.VM_BUG_ON(f.index != linear_page_index(vma, address),
                       "_page_check_anon_rmap: folio index does not match the address")

    # -- walking -------------------------------------------------------------------

    def folio_get_anon_vma(self, f) -> anon_vma | None:
        """Pin the folio's anon_vma, if the folio is still mapped.

        The anon_vma is found under rcu_read_lock() alone: it may have been
        freed, and its slot reused for another anon_vma, since the folio
        was unmapped.  SLAB_TYPESAFE_BY_RCU keeps the memory an anon_vma,
        so the refcount increment cannot corrupt anything, and the
        folio_mapped() check after it tells whether it pinned the right one.
        """
        self.rcu_read_lock()
        av = self.folio_anon_vma(f)
        if av is None or not self.folio_mapped(f):
            self.rcu_read_unlock()
            return None
        self.preempt_schedule_irq()
        if av.refcount == 0:            # atomic_inc_not_zero() failed
            self.rcu_read_unlock()
            return None
        av.refcount += 1
        # Unmapped meanwhile: nothing keeps the anon_vma from being freed.
        if not self.folio_mapped(f):
            # put_anon_vma() may sleep: not inside the read section
            self.rcu_read_unlock()
            self.put_anon_vma(av)
            return None
        self.rcu_read_unlock()
        return av

    def folio_lock_anon_vma_read(self, f, rwc: rmap_walk_control | None) -> anon_vma | None:
        """Return the folio's anon_vma with its root read-locked, or None.

        The anon_vma is looked up under rcu_read_lock() alone, so its slot
        may have been freed and reused for another anon_vma (with another
        root) since the folio was unmapped: the root is read once and only
        that root is locked and unlocked here, and the anon_vma is kept
        only if the folio is still mapped once the lock is held.
        Fast path: trylock, no reference (the anon_vma cannot go away while
        the folio is mapped and we hold the lock, thanks to the lock dance
        in anon_vma_free()).  Slow path: pin it, leave the read section,
        sleep on the lock, unpin.
        """
        while True:
            self.rcu_read_lock()
            av = self.folio_anon_vma(f)
            if av is None or not self.folio_mapped(f):
                self.rcu_read_unlock()
                return None
            root = av.root              # READ_ONCE(anon_vma->root)
            self.preempt_schedule_irq()
            if down_read_trylock(root.rwsem):
                # folio_move_anon_rmap() may have changed the mapping.
                if self.folio_anon_vma(f) is not av:
                    up_read(root.rwsem)
                    self.rcu_read_unlock()
                    continue
                if not self.folio_mapped(f):
                    up_read(root.rwsem)
                    av = None
                self.rcu_read_unlock()
                return av

            if rwc is not None and rwc.try_lock:
                rwc.contended = True
                self.rcu_read_unlock()
                return None

            if av.refcount == 0:        # atomic_inc_not_zero() failed
                self.rcu_read_unlock()
                return None
            av.refcount += 1
            if not self.folio_mapped(f):
                self.rcu_read_unlock()
                self.put_anon_vma(av)
                return None

            # we pinned the anon_vma, it is safe to sleep
            self.rcu_read_unlock()
            self.anon_vma_lock_read(av)
            if self.folio_anon_vma(f) is not av:
                self.anon_vma_unlock_read(av)
                self.put_anon_vma(av)
                continue

            av.refcount -= 1
            if av.refcount == 0:
                # We held the last reference: put it without recursing into
                # the write lock from put_anon_vma().
                self.anon_vma_unlock_read(av)
                self._put_anon_vma(av)
                return None
            return av

    def rmap_walk_anon_lock(self, f, rwc: rmap_walk_control) -> anon_vma | None:
        if rwc.anon_lock is not None:
            return rwc.anon_lock(f, rwc)
        av = self.folio_anon_vma(f)
        if av is None:
            return None
        if self.anon_vma_trylock_read(av):
            return av
        if rwc.try_lock:
            rwc.contended = True
            return None
        self.anon_vma_lock_read(av)
        return av

    def rmap_walk_anon(self, f, rwc: rmap_walk_control, locked: bool = False) -> None:
        """Call ``rwc.rmap_one(folio, vma, address, arg)`` for every VMA of the
        folio's anon_vma whose range covers the folio's index."""
        if locked:
            av = self.folio_anon_vma(f)
            assert av is not None, "VM_BUG_ON_FOLIO(!anon_vma)"
        else:
            av = self.rmap_walk_anon_lock(f, rwc)
            if av is None:
                return
        pgoff_start = f.index
        pgoff_end = pgoff_start
        for avc in anon_vma_interval_tree_foreach(av.rb_root, pgoff_start, pgoff_end):
            vma = avc.vma
            address = vma_address(vma, pgoff_start, 1)
            self.cond_resched()
            if rwc.invalid_vma is not None and rwc.invalid_vma(vma, rwc.arg):
                continue
            if not rwc.rmap_one(f, vma, address, rwc.arg):
                break
            if rwc.done is not None and rwc.done(f):
                break
        if not locked:
            self.anon_vma_unlock_read(av)

    def try_to_unmap(self, f) -> None:
        """Replace every PTE that maps ``f`` by a swap PTE for its swap slot
        (or, for a lazyfree folio, by nothing).  The anon_vma lock is taken for read and may be waited for."""
        rwc = rmap_walk_control(self.try_to_unmap_one, done=lambda folio: not self.folio_mapped(folio),
                                anon_lock=self.folio_lock_anon_vma_read)
        self.rmap_walk_anon(f, rwc)

    def try_to_unmap_one(self, f, vma, address: int, arg) -> bool:
        mm = vma.vm_mm
        vpn = address >> PAGE_SHIFT
        spin_lock(mm.page_table_lock)
        if self.page_vma_mapped(f, vma, address):
            # A folio in an mlock()ed VMA must not be swapped out: the walk
            # stops and the folio stays (mlock_vma_folio()).
            if vma.vm_flags & VM_LOCKED:
                spin_unlock(mm.page_table_lock)
                return False
            if not f.swapbacked:
                # MADV_FREE'd: discard the page, unless it was written since
                # (then it is swap-backed again and stays)
                if mm.pgd[vpn].dirty:
                    f.swapbacked = True
                    spin_unlock(mm.page_table_lock)
                    return False
                del mm.pgd[vpn]
                self.folio_remove_rmap_pte(f, vma)
                self.folio_put(f)
                spin_unlock(mm.page_table_lock)
                return True
            entry = swp_pte_t(f.swap, f.anon_exclusive)
            self.swap_duplicate(entry)
            mm.pgd[vpn] = entry
            self.folio_remove_rmap_pte(f, vma)
            self.folio_put(f)
        spin_unlock(mm.page_table_lock)
        return True

    def page_vma_mapped(self, f, vma, address: int) -> bool:
        """page_vma_mapped_walk(), order 0: does ``vma`` map ``f`` at ``address``?"""
        pte = vma.vm_mm.pgd.get(address >> PAGE_SHIFT)
        return pte is not None and pte.folio is f

    def folio_referenced(self, f, is_locked: bool) -> int:
        """How many mappings referenced ``f`` since the last look (their PTEs'
        accessed bits, cleared as they are read), or -1 if the anon_vma lock
        was contended: reclaim never blocks on it here (try_lock)."""
        referenced = 0

        def folio_referenced_one(folio, vma, address, arg):
            nonlocal referenced
            if self.page_vma_mapped(folio, vma, address):
                pte = vma.vm_mm.pgd[address >> PAGE_SHIFT]
                if pte.young:
                    pte.young = False
                    referenced += 1
            return True

        rwc = rmap_walk_control(folio_referenced_one, anon_lock=self.folio_lock_anon_vma_read,
                                try_lock=True)
        if not self.folio_mapped(f):
            return 0
        self.rmap_walk_anon(f, rwc)
        if rwc.contended:
            return -1
        return referenced
