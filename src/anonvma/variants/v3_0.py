"""Linux 3.0 (June-July 2011): the anon_vma lock is a mutex, an anon_vma's
VMAs are a list, and nothing is ever reused.

Two classes, one step of history apart:

``Linux_3_0_rc2`` is 3.0-rc with Linus's "avoid repeated anon_vma lock/unlock
sequences" patches for anon_vma_clone() (bb4aa39676f7) and unlink_anon_vmas():
the root mutex is taken once per chain walk, and anon_vma_clone() allocates
every anon_vma_chain with GFP_KERNEL while holding it.  That is the kernel
Hugh Dickins ran under memory pressure on 2011-06-17 (3.0.0-rc3 plus those
two patches) and got the RECLAIM_FS lockdep report.  It overrides everything
3.0 did differently from 6.18.

``Linux_3_0`` is that plus the seed, dd34739c03f2 "mm: avoid anon_vma_chain
allocation under anon_vma lock", and nothing else: ``anonvma diff v3.0-rc2
v3.0`` prints exactly the patch.

Sources: Linux 3.0.1 (eastmoutain/Linux-3.0.1, prefix linux-3.0.1/), which
contains dd34739c03f2; cited below as "3.0 file:function".  Where 6.18's code
is kept (the merge machinery of mm/vma.c instead of 3.0's vma_merge/
vma_adjust, mremap's rmap locking) the behaviour the scenarios see is the
same.
"""

from __future__ import annotations

from functools import cache

from ..kernel import Linux
from ..kernel.include import gfp as gfp_6_18
from ..kernel.include.errno import EINVAL, ENOMEM, ENOSYS
from ..kernel.include.mm import (
    MADV_COLD, MADV_COLLAPSE, MADV_FREE, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_KEEPONFORK,
    MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_WIPEONFORK, MREMAP_DONTUNMAP, PAGE_SHIFT,
)
from ..kernel.kernel.locking.lock import lock_class_key
from ..kernel.kernel.locking.mutex import (
    mutex, mutex_is_locked, mutex_lock, mutex_trylock, mutex_unlock,
)
from ..kernel.kernel.locking.spinlock import spin_lock, spin_unlock
from ..kernel.mm.slub import SLAB_PANIC, SLAB_TYPESAFE_BY_RCU

# -- include/linux/gfp.h, 3.0 -------------------------------------------------------
# __GFP_FOO is spelled _GFP_FOO, as the model spells every kernel __name:
# inside a class body Python would mangle the double underscore.
_GFP_WAIT = 0x10           # can wait and reschedule: may enter direct reclaim
_GFP_HIGH = 0x20
_GFP_IO = 0x40
_GFP_FS = 0x80
_GFP_NOWARN = 0x200
_GFP_NOFAIL = 0x800
_GFP_NOMEMALLOC = 0x10000
_GFP_HARDWALL = 0x20000
_GFP_NO_KSWAPD = 0x400000
GFP_ATOMIC = _GFP_HIGH
GFP_NOWAIT = GFP_ATOMIC & ~_GFP_HIGH      # == 0: no sleeping, no reclaim, no reserves
GFP_KERNEL = _GFP_WAIT | _GFP_IO | _GFP_FS

# The model's allocator (page_alloc.py, slub.py, failslab.py) reads 6.18's
# gfp_t layout.  A 3.0 mask is translated where it enters the allocator,
# and back where 2011's lockdep reads it, so each era's code keeps its own
# numbers and every question ("may this allocation sleep, reclaim, warn?")
# gets the answer of the era that asks it.
_BITS_3_0_TO_6_18 = (
    (_GFP_WAIT, gfp_6_18.__GFP_DIRECT_RECLAIM),
    (_GFP_HIGH, gfp_6_18.__GFP_HIGH),
    (_GFP_IO, gfp_6_18.__GFP_IO),
    (_GFP_FS, gfp_6_18.__GFP_FS),
    (_GFP_NOWARN, gfp_6_18.__GFP_NOWARN),
    (_GFP_NOFAIL, gfp_6_18.__GFP_NOFAIL),
    (_GFP_NOMEMALLOC, gfp_6_18.__GFP_NOMEMALLOC),
    (_GFP_HARDWALL, gfp_6_18.__GFP_HARDWALL),
)


@cache       # a handful of masks, translated at every allocation
def gfp_from_3_0(flags: int) -> int:
    """A 3.0 mask in the model's layout.  3.0 wakes kswapd unless told not
    to (_GFP_NO_KSWAPD); 6.18 only if told to (__GFP_KSWAPD_RECLAIM)."""
    out = 0 if flags & _GFP_NO_KSWAPD else gfp_6_18.__GFP_KSWAPD_RECLAIM
    for old, new in _BITS_3_0_TO_6_18:
        if flags & old:
            out |= new
    return out


def gfp_to_3_0(flags: int) -> int:
    """The model's mask as 3.0 would have written it (for 2011's lockdep)."""
    out = 0 if flags & gfp_6_18.__GFP_KSWAPD_RECLAIM else _GFP_NO_KSWAPD
    for old, new in _BITS_3_0_TO_6_18:
        if flags & new:
            out |= old
    return out


# -- include/linux/rmap.h, 3.0 ------------------------------------------------------

class anon_vma:
    """3.0 include/linux/rmap.h.  ``head`` is the list of this anon_vma's
    AVCs (``same_anon_vma`` links), kept as an insertion-ordered dict so
    that list_add_tail and list_del are O(1).  No parent, no counters, no
    interval tree."""

    __slots__ = ("root", "mutex", "refcount", "head", "freed")

    def __init__(self):
        self.root = None
        self.mutex = None
        self.refcount = 0
        self.head = {}
        self.freed = False


class anon_vma_chain:
    """3.0 include/linux/rmap.h: ``same_vma`` is the VMA's chain (a list, as in
    6.18); ``same_anon_vma`` is membership in ``anon_vma.head``."""

    __slots__ = ("vma", "anon_vma", "freed")

    def __init__(self):
        self.vma = None
        self.anon_vma = None
        self.freed = False


class Linux_3_0_rc2(Linux):
    """Linux 3.0-rc with lock_anon_vma_root() batching, before dd34739c03f2."""

    name = "v3.0-rc2"
    description = ("3.0-rc + anon_vma_clone/unlink batching: mutex held across GFP_KERNEL "
                   "anon_vma_chain allocations (the bug the seed fixed)")
    # What this era's kernel was made of (see Linux): an anon_vma's VMAs on
    # a list (the interval tree came in 3.7), no reuse counters (3.19), a
    # mutex (2b575eb64f7a; an rwsem from 3.8), and 2011's lockdep, where
    # reclaim is a usage state (RECLAIM_FS), not a lock.
    rmap_layout = "list"
    rmap_counters = None
    anon_vma_lock = "mutex"
    lockdep_flavour = "reclaim_fs"

    # -- include/linux/rmap.h -----------------------------------------------------

    # 3.0's anon_vma_lock()/anon_vma_unlock(), spelled with the names 3.8
    # gave them: 3.0 has one way to take the anon lock, exclusive, and the
    # 6.18 callers the variant keeps (vma_prepare, mremap) use these names,
    # while ``anon_vma_lock`` says which kind of lock the era has.
    def anon_vma_lock_write(self, av: anon_vma) -> None:
        mutex_lock(av.root.mutex)

    def anon_vma_unlock_write(self, av: anon_vma) -> None:
        mutex_unlock(av.root.mutex)

    # -- mm/rmap.c: allocation ------------------------------------------------------

    def anon_vma_init(self) -> None:
        # anon_vma_ctor() runs once per slab object: one lockdep class.
        # Sizes are x86_64's without lock debugging: root, mutex, refcount,
        # head = 64 bytes; vma, anon_vma, two list_heads = 48.
        self.anon_vma_mutex_key = lock_class_key("&anon_vma->mutex")
        self.anon_vma_cachep = self.kmem_cache_create(
            "anon_vma", anon_vma, 64, SLAB_TYPESAFE_BY_RCU | SLAB_PANIC, self.anon_vma_ctor)
        # 3.0: KMEM_CACHE(anon_vma_chain, SLAB_PANIC), no memcg accounting
        self.anon_vma_chain_cachep = self.kmem_cache_create(
            "anon_vma_chain", anon_vma_chain, 48, SLAB_PANIC)

    def anon_vma_ctor(self, av: anon_vma) -> None:
        av.mutex = mutex(self, self.anon_vma_mutex_key)
        av.refcount = 0
        av.head = {}

    def anon_vma_alloc(self) -> anon_vma | None:
        av = self.kmem_cache_alloc(self.anon_vma_cachep, gfp_from_3_0(GFP_KERNEL))
        if av is not None:
            av.refcount = 1
            # anon_vma_fork() resets the root to the parent's root.
            av.root = av
        return av

    def anon_vma_free(self, av: anon_vma) -> None:
        assert av.refcount == 0, "VM_BUG_ON(atomic_read(&anon_vma->refcount))"
        # 3.0 mm/rmap.c:anon_vma_free: page_lock_anon_vma() may hold the root
        # mutex, taken by trylock without a reference: wait for it to leave.
        if mutex_is_locked(av.root.mutex):
            self.anon_vma_lock_write(av)
            self.anon_vma_unlock_write(av)
        self.kmem_cache_free(self.anon_vma_cachep, av)

    def anon_vma_chain_alloc(self, gfp: int) -> anon_vma_chain | None:
        return self.kmem_cache_alloc(self.anon_vma_chain_cachep, gfp_from_3_0(gfp))

    def anon_vma_chain_link(self, vma, avc: anon_vma_chain, av: anon_vma) -> None:
        avc.vma = vma
        avc.anon_vma = av
        vma.anon_vma_chain.insert(0, avc)          # list_add()
        # "It's critical to add new vmas to the tail of the anon_vma": rmap
        # walks meet a VMA mremap() moves pages from before the one it moves
        # them to, without any anon lock (3.0 mm/mremap.c:move_ptes).
        av.head[avc] = None                         # list_add_tail()

    # -- mm/rmap.c: attaching VMAs ----------------------------------------------------

    def _anon_vma_prepare(self, vma) -> int:
        """3.0 mm/rmap.c:anon_vma_prepare, without 6.18's num_children and
        num_active_vmas."""
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
            avc.anon_vma = av
            avc.vma = vma
            vma.anon_vma_chain.insert(0, avc)      # list_add()
            av.head[avc] = None                     # list_add_tail()
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
        new_root = av.root
        if new_root is not root:
            if root is not None:
                self.WARN_ON_ONCE("lock_anon_vma_root: two roots on one anon_vma_chain")
                mutex_unlock(root.mutex)
            root = new_root
            mutex_lock(root.mutex)
        return root

    def unlock_anon_vma_root(self, root: anon_vma | None) -> None:
        if root is not None:
            mutex_unlock(root.mutex)

    def anon_vma_clone(self, dst, src) -> int:
        """bb4aa39676f7: the root mutex is held from the first link to the
        last, and every anon_vma_chain is allocated with GFP_KERNEL under it.
        Direct reclaim, which that allocation may enter, takes anon_vma
        mutexes in page_lock_anon_vma(): lockdep's RECLAIM_FS report, and a
        self-deadlock when reclaim meets a page under this very root."""
        root = None
        for pavc in reversed(src.anon_vma_chain):
            avc = self.anon_vma_chain_alloc(GFP_KERNEL)
            if avc is None:
                self.unlock_anon_vma_root(root)
                self.unlink_anon_vmas(dst)
                return -ENOMEM
            av = pavc.anon_vma
            root = self.lock_anon_vma_root(root, av)
            self.anon_vma_chain_link(dst, avc, av)
        self.unlock_anon_vma_root(root)
        return 0

    def anon_vma_fork(self, vma, pvma) -> int:
        """3.0 mm/rmap.c:anon_vma_fork: every fork gives the child VMA an
        anon_vma of its own.  Nothing is reused (that came with 3.19's
        7a3ef208e662), so a chain of forking generations grows without
        bound (history.md B6)."""
        if pvma.anon_vma is None:
            return 0
        # First attach to the parent's anon_vmas, so that rmap finds the
        # pages the child still shares with the parent.
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

        # The lock lives in the root: pin it as long as this anon_vma lives.
        av.root = pvma.anon_vma.root
        self.get_anon_vma(av.root)
        # New (COWed) pages of the child go here.
        vma.anon_vma = av
        self.anon_vma_lock_write(av)
        self.anon_vma_chain_link(vma, avc, av)
        self.anon_vma_unlock_write(av)
        return 0

    def unlink_anon_vmas(self, vma) -> None:
        """The two-pass unlink (Peter Zijlstra / Linus, June 2011): pass 1
        under one root lock, pass 2 puts the emptied anon_vmas without it,
        because __put_anon_vma() may take it.  ``vma->anon_vma`` is left
        set: in 3.0 the VMA is always on its way to being freed."""
        root = None
        chain = vma.anon_vma_chain
        emptied = []
        # newest to oldest: the root anon_vma goes last
        for avc in chain:
            av = avc.anon_vma
            root = self.lock_anon_vma_root(root, av)
            del av.head[avc]                        # list_del(&avc->same_anon_vma)
            # Leave empty anon_vmas on the list: freed outside the lock.
            if not av.head:
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

    def _put_anon_vma(self, av: anon_vma) -> None:
        """3.0 order: drop (and maybe free) the root *before* the child.
        anon_vma_free(child) then reads child->root->mutex of a root that
        may be gone: the use-after-free KASAN found in 2014 (624483f3ea82,
        history.md B5)."""
        root = av.root
        if root is not av:
            root.refcount -= 1
            if root.refcount == 0:
                self.anon_vma_free(root)
        self.anon_vma_free(av)

    # -- mm/rmap.c: walking -------------------------------------------------------------

    def page_lock_anon_vma(self, page) -> anon_vma | None:
        """3.0 mm/rmap.c:page_lock_anon_vma: the page's anon_vma with its
        root mutex held, or None.  The lookup is under rcu_read_lock()
        only: the slot may hold another anon_vma by now, so the root is
        read once, and the anon_vma kept only if the page is still mapped.
        Trylock first (no reference needed: see anon_vma_free); else pin it
        and *sleep* on the mutex.  3.0 has no try_lock mode: reclaim's
        page_referenced() blocks here too."""
        self.rcu_read_lock()
        av = self.folio_anon_vma(page)
        if av is None or not self.folio_mapped(page):
            self.rcu_read_unlock()
            return None
        root = av.root                      # ACCESS_ONCE(anon_vma->root)
        self.preempt_schedule_irq()
        if mutex_trylock(root.mutex):
            if not self.folio_mapped(page):
                mutex_unlock(root.mutex)
                av = None
            self.rcu_read_unlock()
            return av
        # trylock failed, we got to sleep
        if av.refcount == 0:                # atomic_inc_not_zero() failed
            self.rcu_read_unlock()
            return None
        av.refcount += 1
        if not self.folio_mapped(page):
            # 3.0 drops the reference inside the read section
            self.put_anon_vma(av)
            self.rcu_read_unlock()
            return None
        # we pinned the anon_vma, its safe to sleep
        self.rcu_read_unlock()
        self.anon_vma_lock_write(av)
        av.refcount -= 1
        if av.refcount == 0:
            # We held the last reference: put_anon_vma() would take the
            # mutex we hold.
            self.anon_vma_unlock_write(av)
            self._put_anon_vma(av)
            return None
        return av

    def page_unlock_anon_vma(self, av: anon_vma) -> None:
        self.anon_vma_unlock_write(av)

    def rmap_walk_anon(self, f, rwc, locked: bool = False) -> None:
        """3.0's anon rmap walks (page_referenced_anon, try_to_unmap_anon,
        rmap_walk_anon): lock through page_lock_anon_vma(), visit *every*
        AVC of the anon_vma in list order, and skip the VMAs that do not
        cover the page (vma_address() == -EFAULT)."""
        if locked:
            av = self.folio_anon_vma(f)
            assert av is not None, "VM_BUG_ON(!anon_vma)"
        else:
            av = self.page_lock_anon_vma(f)
            if av is None:
                return
        index = f.index
        for avc in av.head:
            vma = avc.vma
            # 3.0's vma_address(page, vma), a static inline of mm/rmap.c:
            # the walk visits every AVC, so this test is most of its cost.
            # address < vm_start is index < vm_pgoff, tested first without
            # computing the address.
            pgoff = vma.vm_pgoff
            if index < pgoff:
                continue
            address = vma.vm_start + ((index - pgoff) << PAGE_SHIFT)
            if address >= vma.vm_end:
                continue
            if rwc.invalid_vma is not None and rwc.invalid_vma(vma, rwc.arg):
                continue
            if not rwc.rmap_one(f, vma, address, rwc.arg):
                break
            if rwc.done is not None and rwc.done(f):
                break
        if not locked:
            self.page_unlock_anon_vma(av)

    # -- mm/mmap.c ------------------------------------------------------------------------

    def anon_vma_interval_tree_pre_update_vma(self, vma) -> None:
        """No interval tree in 3.0: ``head`` is unordered by address, so a
        VMA whose range changes needs no re-keying (3.0 mm/mmap.c:vma_adjust
        only takes the anon lock)."""

    anon_vma_interval_tree_post_update_vma = anon_vma_interval_tree_pre_update_vma

    def is_mergeable_anon_vma(self, vmg, merge_next: bool) -> bool:
        """3.0 mm/mmap.c:is_mergeable_anon_vma(anon_vma1, anon_vma2, vma),
        ``vma`` being the neighbour: one side may lack an anon_vma only if
        the neighbour's chain is singular (never forked).  An unfaulted
        neighbour has an empty chain, so it never absorbs a faulted range."""
        tgt = vmg.next if merge_next else vmg.prev
        if (vmg.anon_vma is None or tgt.anon_vma is None) and len(tgt.anon_vma_chain) == 1:
            return True
        return vmg.anon_vma is tgt.anon_vma

    # -- mm/madvise.c ---------------------------------------------------------------------

    def do_madvise(self, mm, start: int, len_in: int, behavior: int) -> int:
        # 3.0 mm/madvise.c:madvise_behavior_valid: WIPEONFORK/KEEPONFORK
        # came in 4.14, FREE in 4.5, COLD in 5.4, POPULATE_READ/WRITE in
        # 5.14, COLLAPSE in 6.1, GUARD_INSTALL/REMOVE in 6.13.
        if behavior in (MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_FREE, MADV_COLD,
                        MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_COLLAPSE,
                        MADV_GUARD_INSTALL, MADV_GUARD_REMOVE):
            return -EINVAL
        return super().do_madvise(mm, start, len_in, behavior)

    def sys_process_madvise(self, task, start: int, len_in: int, behavior: int) -> int:
        # process_madvise() came in 5.10
        return -ENOSYS

    # -- mm/mremap.c ---------------------------------------------------------------------

    def check_mremap_params(self, vrm) -> int:
        """Before 5.7 (e346b3813067 "mm/mremap: add MREMAP_DONTUNMAP to
        mremap()", id from memory) mremap() knew only MREMAP_MAYMOVE and
        MREMAP_FIXED."""
        if vrm.flags & MREMAP_DONTUNMAP:
            return -EINVAL
        return Linux.check_mremap_params(self, vrm)

    # -- mm/mmap.c -------------------------------------------------------------------------

    def dup_anon_vma(self, dst, src) -> tuple[int, object]:
        """3.x mm/mmap.c:vma_adjust(), "easily overlooked": the expanding
        importer gets the exporter's anon_vmas, cloned first, and only then
        ``importer->anon_vma`` (the order 3.19's reuse rule tripped on, B8).
        So a failed clone leaves ``importer->anon_vma`` NULL, which the
        clone's error path of these eras relies on: it does not clear
        ``dst->anon_vma`` (4.0 does, for B9)."""
        if src.anon_vma is not None and dst.anon_vma is None:
            ret = self.anon_vma_clone(dst, src)
            if ret:
                return ret, None
            dst.anon_vma = src.anon_vma
            return 0, dst
        return 0, None

    # -- mm/memory.c, mm/swapfile.c --------------------------------------------------------

    def do_wp_page(self, vmf) -> int:
        """3.0 mm/memory.c:do_wp_page: an anonymous page is reused when
        reuse_swap_page() finds no other mapping of it; then
        page_move_anon_rmap() points it at the faulting VMA's anon_vma."""
        page = vmf.orig_pte.folio
        if page is self.zero_folio:
            return self.wp_page_copy(vmf, None)
        if self.folio_trylock(page):
            reuse = self.reuse_swap_page(page)
            if reuse:
                self.folio_move_anon_rmap(page, vmf.vma)    # page_move_anon_rmap()
            self.folio_unlock(page)
            if reuse:
                self.wp_page_reuse(vmf)
                return 0
        self.folio_get(page)
        return self.wp_page_copy(vmf, page)

    def reuse_swap_page(self, page) -> bool:
        """3.0 mm/swapfile.c:reuse_swap_page: mapcount-based.  A page in the
        swap cache counts the swap PTEs of its slot too: another process
        that swaps the page in later must find it where its own chain
        reaches, so the page stays shared while any such PTE is left; the
        last user takes it out of the swap cache (the disk copy is stale
        once it writes)."""
        assert page.locked, "VM_BUG_ON(!PageLocked(page))"
        count = page._mapcount + 1
        if count <= 1 and page.swap is not None:
            count += self.swap_info.swap_map.get(page.swap, 0)     # page_swapcount()
            if count == 1:
                self.delete_from_swap_cache(page)
        return count <= 1

    # -- lockdep: 2011's RECLAIM_FS annotations -------------------------------------------

    def fs_reclaim_acquire(self, gfp_mask: int) -> None:
        """In 3.0 an allocation calls lockdep_trace_alloc(gfp) (mm/slub.c:
        slab_pre_alloc_hook, mm/page_alloc.c:__alloc_pages_nodemask) and
        direct reclaim lockdep_set_current_reclaim_state(gfp), both in 3.0
        gfp bits: here both happen where 6.18 takes fs_reclaim, and the
        release clears the reclaim state again."""
        trace = self.trace
        if trace.lockdep_trace_alloc.probes:
            gfp_mask = gfp_to_3_0(gfp_mask)
            trace.lockdep_trace_alloc(gfp_mask)
            trace.lockdep_reclaim_state(gfp_mask)

    def fs_reclaim_release(self, gfp_mask: int) -> None:
        tp = self.trace.lockdep_reclaim_state
        if tp.probes:
            tp(0)

    def _fs_reclaim_acquire(self) -> None:
        """3.0 mm/vmscan.c:kswapd: lockdep_set_current_reclaim_state(GFP_KERNEL)."""
        tp = self.trace.lockdep_reclaim_state
        if tp.probes:
            tp(GFP_KERNEL)

    def _fs_reclaim_release(self) -> None:
        self.fs_reclaim_release(0)


class Linux_3_0(Linux_3_0_rc2):
    """dd34739c03f2 "mm: avoid anon_vma_chain allocation under anon_vma lock"."""

    name = "v3.0"
    description = ("Linux 3.0 (with dd34739c03f2): mutex, anon_vma list, no reuse, "
                   "GFP_NOWAIT under the root lock")

    def anon_vma_clone(self, dst, src) -> int:
        """Reclaim takes anon_vma mutexes, so never allocate with the root
        lock held in a way that may enter it: try GFP_NOWAIT first and, only
        if that fails, drop the lock and allocate with GFP_KERNEL.  The error
        path no longer unlocks: the lock is already dropped."""
        root = None
        for pavc in reversed(src.anon_vma_chain):
            avc = self.anon_vma_chain_alloc(GFP_NOWAIT | _GFP_NOWARN)
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
