"""Linux 7.0: Lorenzo Stoakes's "mm: clean up anon_vma implementation"
(v3, 9 patches, 2026-01-18, merged for 7.0; cover letter lore
20260118120658.8da21fc257774feb4e753969@linux-foundation.org thread), and
its follow-up fix 3a206a8649f8 "mm/rmap: clear vma->anon_vma on error"
(2026-03-18).

What the series changed, as far as the model goes:

- 69e945845585 "mm/rmap: skip unfaulted VMAs on anon_vma clone, unlink":
  anon_vma_clone() and unlink_anon_vmas() return at once when the VMA has
  no anon_vma.
- 91901a441fa1 "mm/rmap: eliminate partial anon_vma tear-down in
  anon_vma_fork()": the child's own anon_vma and AVC are allocated *before*
  the clone, and put back if an anon_vma was reused, so no half-built VMA
  reaches unlink_anon_vmas(); a failed clone cleans up after itself in
  cleanup_partial_anon_vmas().
- 53eb797ffc3a "mm/rmap: remove anon_vma_merge() function": vma_complete()
  calls unlink_anon_vmas() itself.
- d17f02417a33 "mm/rmap: separate out fork-only logic on anon_vma_clone()":
  ``anon_vma_clone(dst, src, operation)`` with ``enum vma_operation``,
  check_anon_vma_clone()'s assertions, reuse only for VMA_OP_FORK
  (maybe_reuse_anon_vma()).
- bfc2b13b05a1 "mm/rmap: allocate anon_vma_chain objects unlocked when
  possible": every AVC is allocated with GFP_KERNEL and attached to dst
  (anon_vma_chain_assign()) before any lock is taken; one
  ``anon_vma_lock_write(src->anon_vma)`` covers the interval tree inserts.
  dd34739c03f2's GFP_NOWAIT dance and lock_anon_vma_root() are gone, and
  cleanup_partial_anon_vmas() only frees AVCs.

``Linux_7_0_rc`` is the series as merged.  Its cleanup_partial_anon_vmas()
left ``vma->anon_vma`` set: a failed merge-time clone (dup_anon_vma() sets
dst->anon_vma first) leaves dst pointing at an anon_vma that does not count
it in num_active_vmas and with no chain, so its unlink later underflows the
counter (and a deflated count can let fork reuse an anon_vma still in use).
``Linux_7_0`` has 3a206a8649f8, which resets it.

Where the trace differs from 6.18 (docs/variants.md has the table):
anon_vma_fork() allocates ``+AVn:fork +AVCn:fork`` before the clone's
``+AVCn:clone/fork`` lines and, when it reuses, frees them again
(``-AVn:put -AVCn:fork``); and the clone walks src's chain from its head
(newest first), allocating in that order and adding each AVC at the head of
dst's chain, so dst's chain is src's reversed and later unlinks free the
copies in that order.

Sources: 7.0 mm/rmap.c as quoted, function by function, in two public
renderings of it (a commented line-by-line rendering and a second port
that keeps its structure: anon_vma_clone, maybe_reuse_anon_vma,
check_anon_vma_clone, anon_vma_fork, cleanup_partial_anon_vmas,
unlink_anon_vmas, __anon_vma_prepare), 7.0 mm/vma.c's dup_anon_vma() and
vma_complete() (the same kind of copy), the commit texts above
(lexplain.net analyses, ipfire's bfc2b13b05a1), and 3a206a8649f8's text.
The upstream diffs themselves were not available to read.
"""

from __future__ import annotations

import enum

from ..kernel import Linux
from ..kernel.include.errno import ENOMEM
from ..kernel.include.gfp import GFP_KERNEL
from ..kernel.include.mm import PAGE_SHIFT
from ..kernel.kernel.locking.spinlock import spin_lock, spin_unlock
from ..kernel.mm.interval_tree import (
    anon_vma_interval_tree_empty, anon_vma_interval_tree_insert, anon_vma_interval_tree_remove,
)
from ..kernel.mm.mm_types import anon_vma_chain
from ..kernel.mm.vma import VMG_VMA_STATE, vma_prepare


class vma_operation(enum.Enum):
    """mm/internal.h: why anon_vma_clone() is called."""
    VMA_OP_SPLIT = enum.auto()
    VMA_OP_MERGE_UNFAULTED = enum.auto()
    VMA_OP_REMAP = enum.auto()
    VMA_OP_FORK = enum.auto()


VMA_OP_SPLIT = vma_operation.VMA_OP_SPLIT
VMA_OP_MERGE_UNFAULTED = vma_operation.VMA_OP_MERGE_UNFAULTED
VMA_OP_REMAP = vma_operation.VMA_OP_REMAP
VMA_OP_FORK = vma_operation.VMA_OP_FORK


class Linux_7_0_rc(Linux):
    """Linux 7.0-rc: "mm: clean up anon_vma implementation", before
    3a206a8649f8."""

    name = "v7.0-rc"
    description = ("7.0-rc: anon_vma_clone(dst, src, op), AVCs allocated before any lock, "
                   "fork preallocates; a failed clone leaves dst->anon_vma set")
    rmap_layout = "interval_tree"
    rmap_counters = "num_children"
    # the clone walks src's chain from its head and adds at dst's head
    chain_root_last = False
    anon_vma_lock = "rwsem"
    lockdep_flavour = "fs_reclaim"

    # -- mm/rmap.c -------------------------------------------------------------------

    # No more lock batching across a chain walk: one anon_vma_lock_write()
    # of the VMA's own anon_vma covers the whole tree, and no more
    # anon_vma_merge() wrapper.
    lock_anon_vma_root = None
    unlock_anon_vma_root = None
    anon_vma_merge = None
    # anon_vma_chain_link() became assign (the VMA's list) + an explicit
    # interval tree insert under the lock.
    anon_vma_chain_link = None

    def anon_vma_chain_assign(self, vma, avc: anon_vma_chain, av) -> None:
        avc.vma = vma
        avc.anon_vma = av
        vma.anon_vma_chain.insert(0, avc)          # list_add()

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
            av.num_children += 1        # self-parent link for new root
            allocated = av

        self.anon_vma_lock_write(av)
        # page_table_lock to protect against threads
        spin_lock(mm.page_table_lock)
        if vma.anon_vma is None:
            vma.anon_vma = av
            self.anon_vma_chain_assign(vma, avc, av)
            anon_vma_interval_tree_insert(avc, av.rb_root)
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

    def check_anon_vma_clone(self, dst, src, operation: vma_operation) -> None:
        """The conditions anon_vma_clone() is called in, as VM_WARN_ON_ONCEs."""
        checks = (
            # If not a fork then must be on same mm.
            (operation is not VMA_OP_FORK and dst.vm_mm is not src.vm_mm,
             "anon_vma_clone: not a fork, but dst and src have different mms"),
            # If we have anything to do src->anon_vma must be provided.
            (src.anon_vma is None and src.anon_vma_chain,
             "anon_vma_clone: src has a chain but no anon_vma"),
            (src.anon_vma is None and dst.anon_vma is not None,
             "anon_vma_clone: dst has an anon_vma, src none"),
            # We are establishing a new anon_vma_chain.
            (dst.anon_vma_chain, "anon_vma_clone: dst already has a chain"),
            # On fork, dst->anon_vma is set NULL (temporarily).  Otherwise,
            # anon_vma must be the same across dst and src.
            (dst.anon_vma is not None and dst.anon_vma is not src.anon_vma,
             "anon_vma_clone: dst and src have different anon_vmas"),
            (operation is not VMA_OP_FORK and src.anon_vma is not None and dst.anon_vma is None,
             "anon_vma_clone: not a fork, but dst has no anon_vma"),
            # For the anon_vma to be compatible, it can only be singular.
            (operation is VMA_OP_MERGE_UNFAULTED and len(src.anon_vma_chain) != 1,
             "anon_vma_clone: merging from a VMA whose chain is not singular"),
            # Only merging an unfaulted VMA leaves the destination attached.
            (operation is not VMA_OP_MERGE_UNFAULTED and not dst.detached,
             "anon_vma_clone: dst is attached"),
        )
        self.mmap_assert_write_locked(src.vm_mm)
        for cond, text in checks:
            if cond:
                self.WARN_ON_ONCE(text)

    def maybe_reuse_anon_vma(self, dst, av) -> None:
        # If already populated, nothing to do.
        if dst.anon_vma is not None:
            return
        # We reuse an anon_vma if any linking VMAs were unmapped and it has
        # only a single child at most.
        if av.num_active_vmas > 0:
            return
        if av.num_children > 1:
            return
        dst.anon_vma = av
        av.num_active_vmas += 1

    def anon_vma_clone(self, dst, src, operation: vma_operation) -> int:
        """Give ``dst`` an anon_vma_chain for every anon_vma on ``src``'s
        chain: merge of an unfaulted VMA, split, mremap, fork.  Only a fork
        tries to reuse an anon_vma of the hierarchy."""
        active_anon_vma = src.anon_vma
        self.check_anon_vma_clone(dst, src, operation)
        if active_anon_vma is None:
            return 0

        # No anon_vma lock to allocate: nothing in any anon_vma changes yet,
        # and dst is either in src's mm, whose mmap lock we hold for write,
        # or a fork child no other thread can see.
        for pavc in src.anon_vma_chain:             # list_for_each_entry
            avc = self.anon_vma_chain_alloc(GFP_KERNEL)
            if avc is None:
                self.cleanup_partial_anon_vmas(dst)
                return -ENOMEM
            self.anon_vma_chain_assign(dst, avc, pavc.anon_vma)

        # Now link the anon_vmas back to the new AVCs.  Every anon_vma here
        # shares the root, so one lock covers them all.
        self.anon_vma_lock_write(active_anon_vma)
        for avc in reversed(dst.anon_vma_chain):    # list_for_each_entry_reverse
            av = avc.anon_vma
            anon_vma_interval_tree_insert(avc, av.rb_root)
            if operation is VMA_OP_FORK:
                self.maybe_reuse_anon_vma(dst, av)
        if operation is not VMA_OP_FORK:
            dst.anon_vma.num_active_vmas += 1
        self.anon_vma_unlock_write(active_anon_vma)
        return 0

    def anon_vma_fork(self, vma, pvma) -> int:
        """Allocate the child's own anon_vma and AVC first, then clone; put
        them back if the clone failed or reused an anon_vma."""
        # Don't bother if the parent process has no anon_vma here.
        if pvma.anon_vma is None:
            return 0

        # Drop inherited anon_vma, we'll reuse existing or allocate new.
        vma.anon_vma = None

        av = self.anon_vma_alloc()
        if av is None:
            return -ENOMEM
        avc = self.anon_vma_chain_alloc(GFP_KERNEL)
        if avc is None:
            self.put_anon_vma(av)
            return -ENOMEM

        # First, attach the new VMA to the parent VMA's anon_vmas, so rmap
        # can find non-COWed pages in child processes.
        rc = self.anon_vma_clone(vma, pvma, VMA_OP_FORK)
        # An error arose or an existing anon_vma was reused, all done then.
        if rc or vma.anon_vma is not None:
            self.put_anon_vma(av)
            self.anon_vma_chain_free(avc)
            return rc

        # No reuse: our own anon_vma, not linked anywhere yet, so its fields
        # need no lock.
        av.num_active_vmas = 1
        # The root's rwsem is the lock of the whole tree, so the root must
        # live as long as this anon_vma does.
        av.root = pvma.anon_vma.root
        av.parent = pvma.anon_vma
        self.get_anon_vma(av.root)
        # Mark this anon_vma as the one where our new (COWed) pages go.
        vma.anon_vma = av
        self.anon_vma_chain_assign(vma, avc, av)
        # Now let rmap see it.
        self.anon_vma_lock_write(av)
        anon_vma_interval_tree_insert(avc, av.rb_root)
        av.parent.num_children += 1
        self.anon_vma_unlock_write(av)
        return 0

    def cleanup_partial_anon_vmas(self, vma) -> None:
        """anon_vma_clone() failed: its AVCs were never inserted into any
        interval tree, so freeing them is all there is to undo."""
        chain = vma.anon_vma_chain
        while chain:
            self.anon_vma_chain_free(chain.pop(0))

    def unlink_anon_vmas(self, vma) -> None:
        """Sever every link between ``vma`` and its anon_vmas, freeing the
        AVCs, updating num_children/num_active_vmas, and putting the
        anon_vmas no VMA references any more."""
        active_anon_vma = vma.anon_vma
        # Always hold mmap lock, read-lock on unmap possibly.
        self.mmap_assert_locked(vma.vm_mm)

        # Unfaulted is a no-op.
        if active_anon_vma is None:
            if vma.anon_vma_chain:
                self.WARN_ON_ONCE("unlink_anon_vmas: unfaulted VMA with a chain")
            return

        self.anon_vma_lock_write(active_anon_vma)
        chain = vma.anon_vma_chain
        emptied = []
        # newest to oldest, ensuring the root anon_vma gets freed last
        for avc in chain:
            av = avc.anon_vma
            anon_vma_interval_tree_remove(avc, av.rb_root)
            # Leave empty anon_vmas on the list: they are freed below.
            if anon_vma_interval_tree_empty(av.rb_root):
                av.parent.num_children -= 1
                emptied.append(avc)
                continue
            self.anon_vma_chain_free(avc)
        chain.clear()
        chain.extend(emptied)
        active_anon_vma.num_active_vmas -= 1
        # The VMA may live on (MREMAP_DONTUNMAP): its next fault prepares a
        # fresh anon_vma.
        vma.anon_vma = None
        self.anon_vma_unlock_write(active_anon_vma)

        # Only empty, unlinked anon_vmas are left: destroy them, without the
        # lock, which __put_anon_vma() may need to take.
        while chain:
            avc = chain.pop(0)
            av = avc.anon_vma
            self.VM_WARN_ON(av.num_children, "unlink_anon_vmas: num_children")
            self.VM_WARN_ON(av.num_active_vmas, "unlink_anon_vmas: num_active_vmas")
            self.put_anon_vma(av)
            self.anon_vma_chain_free(avc)

    # -- mm/vma.c ------------------------------------------------------------------------

    def dup_anon_vma(self, dst, src) -> tuple[int, object]:
        """Three cases of anon_vmas on merge: neither VMA has one (nothing to
        do), both have it (they must be the same), or dst is unfaulted: then
        the merged range must be reachable from src's anon_vmas."""
        if src.anon_vma is not None and dst.anon_vma is None:
            self.vma_start_write(dst)               # vma_assert_write_locked()
            dst.anon_vma = src.anon_vma
            ret = self.anon_vma_clone(dst, src, VMA_OP_MERGE_UNFAULTED)
            if ret:
                return ret, None
            return 0, dst
        return 0, None

    def vma_complete(self, vp: vma_prepare, mm) -> None:
        if vp.insert is not None:
            # split_vma() inserts the new VMA before dropping the locks
            mm.mm_mt.store(vp.insert)
            vp.insert.detached = False
            mm.map_count += 1
        if vp.anon_vma is not None:
            self.anon_vma_interval_tree_post_update_vma(vp.vma)
            if vp.adj_next is not None:
                self.anon_vma_interval_tree_post_update_vma(vp.adj_next)
            self.anon_vma_unlock_write(vp.anon_vma)
        for remove in (vp.remove, vp.remove2):
            if remove is None:
                continue
            remove.detached = True
            if remove.anon_vma is not None:
                self.unlink_anon_vmas(remove)
            mm.map_count -= 1
            self.vm_area_free(remove)

    def _split_vma(self, vma, addr: int, new_below: bool) -> int:
        """Split ``vma`` at ``addr``.  The new VMA is the part below ``addr`` if
        ``new_below``, else the part above; ``vma`` keeps the rest."""
        new = self.vm_area_dup(vma)
        if new is None:
            return -ENOMEM
        if new_below:
            new.vm_end = addr
        else:
            new.vm_start = addr
            new.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT

        err = self.anon_vma_clone(new, vma, VMA_OP_SPLIT)
        if err:
            self.vm_area_free(new)
            return err

        self.vma_start_write(vma)
        self.vma_start_write(new)
        vp = vma_prepare(vma)
        vp.insert = new
        self.vma_prepare(vp)
        if new_below:
            self.vma_set_range(vma, addr, vma.vm_end,
                               vma.vm_pgoff + ((addr - new.vm_start) >> PAGE_SHIFT))
        else:
            self.vma_set_range(vma, vma.vm_start, addr, vma.vm_pgoff)
        # vma_complete() stores the new VMA
        self.vma_complete(vp, vma.vm_mm)
        return 0

    def copy_vma(self, vma, addr: int, length: int, pgoff: int):
        """mremap: a copy of ``vma`` at [addr, addr + length), merged into a
        neighbour where possible.  Returns (new_vma, vma, need_rmap_locks),
        where ``vma`` is the source, which an unfaulted source may have been
        merged into; new_vma is None on failure."""
        mm = vma.vm_mm
        vma_start = vma.vm_start
        faulted_in_anon_vma = True
        # An unfaulted anonymous VMA can be placed as if it had always been
        # at the new address.
        if vma.anon_vma is None:
            pgoff = addr >> PAGE_SHIFT
            faulted_in_anon_vma = False

        vmg = VMG_VMA_STATE(vma, mm.mm_mt.prev_of_addr(addr), addr, addr + length)
        vmg.pgoff = pgoff
        vmg.next = mm.mm_mt.find(addr)
        new_vma = self.vma_merge_copied_range(vmg)
        if new_vma is not None:
            if new_vma.vm_start <= vma_start < new_vma.vm_end:
                # Only an unfaulted source, whose pgoff was reset above, can
                # have merged with its own destination.
                self.VM_BUG_ON(faulted_in_anon_vma, "copy_vma: a faulted VMA merged with itself")
                vma = new_vma
            # Moving onto an earlier pgoff needs the rmap locks so that
            # walkers see the old PTE or the new one, never neither.
            return new_vma, vma, new_vma.vm_pgoff <= vma.vm_pgoff
        new_vma = self.vm_area_dup(vma)
        if new_vma is None:
            return None, vma, False
        self.vma_set_range(new_vma, addr, addr + length, pgoff)
        if self.anon_vma_clone(new_vma, vma, VMA_OP_REMAP):
            self.vm_area_free(new_vma)
            return None, vma, False
        self.vma_link(mm, new_vma)
        # A fresh VMA sorts after the source in rmap walk order.
        return new_vma, vma, False


class Linux_7_0(Linux_7_0_rc):
    """3a206a8649f8 "mm/rmap: clear vma->anon_vma on error"."""

    name = "v7.0"
    description = ("7.0: Lorenzo Stoakes's anon_vma clean-up with 3a206a8649f8: a failed "
                   "clone resets dst->anon_vma")

    def cleanup_partial_anon_vmas(self, vma) -> None:
        """anon_vma_clone() failed: its AVCs were never inserted into any
        interval tree, so freeing them is all there is to undo."""
        chain = vma.anon_vma_chain
        while chain:
            self.anon_vma_chain_free(chain.pop(0))
        # The anon_vma assigned to this VMA is no longer valid, as we were
        # not able to correctly clone AVC state.  Avoid inconsistent
        # anon_vma tree state by resetting.
        vma.anon_vma = None
