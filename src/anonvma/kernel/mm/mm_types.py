"""The structures of anonymous memory (include/linux/mm_types.h, rmap.h).

Field names are the kernel's.  Where the model keeps less (no vm_ops, no
vm_file: every VMA here is private anonymous) or keeps something the kernel
derives elsewhere, the comment says so.  ``freed`` marks slab objects that
were returned to their cache: the model never reuses the Python object while
anything can still reach it, so a reference to a freed object is the model's
use-after-free, which the checks report.
"""

from __future__ import annotations

from ..lib.maple_tree import maple_tree
from .interval_tree import rb_root_cached


class anon_vma:
    """include/linux/rmap.h.  Only the root's ``rwsem`` is ever taken."""

    __slots__ = ("root", "rwsem", "refcount", "num_children", "num_active_vmas",
                 "parent", "rb_root", "freed")

    def __init__(self):
        self.root = None
        self.rwsem = None
        self.refcount = 0
        self.num_children = 0
        self.num_active_vmas = 0
        self.parent = None
        self.rb_root = rb_root_cached()
        self.freed = False


class anon_vma_chain:
    """include/linux/rmap.h.  ``same_vma`` is the VMA's ``anon_vma_chain``
    list; the fields from ``rb`` on are the linkage of the anon_vma's
    interval tree, embedded as ``struct rb_node rb`` is in C (see
    interval_tree.py: ``rb`` is the tree the AVC is linked in, or None)."""

    __slots__ = ("vma", "anon_vma", "rb", "rb_parent", "rb_left", "rb_right", "rb_priority",
                 "rb_subtree_last", "cached_vma_start", "cached_vma_last", "freed")

    def __init__(self):
        self.vma = None
        self.anon_vma = None
        self.rb = None
        self.rb_parent = self.rb_left = self.rb_right = None
        self.rb_priority = 0
        self.rb_subtree_last = 0
        self.cached_vma_start = self.cached_vma_last = 0
        self.freed = False


class vm_area_struct:
    """A VMA.  ``anon_vma_chain`` is the model's list_head: a Python list
    whose first element is the head, so ``list_add`` is ``insert(0, avc)``
    and forward iteration goes newest first.  (A list, not a deque: a deque
    costs 760 bytes however short, and a chain holds one AVC per generation
    of the fork tree, a few at most.)"""

    __slots__ = ("vm_start", "vm_end", "vm_mm", "vm_flags", "vm_pgoff",
                 "anon_vma", "anon_vma_chain", "detached", "freed",
                 # prctl(PR_SET_VMA_ANON_NAME): the name (the kernel's
                 # refcounted anon_vma_name, compared by its string); mbind():
                 # the memory policy, (mode, nodes) or None for the default
                 "anon_name", "vm_policy")

    def __init__(self, mm=None):
        self.vm_start = 0
        self.vm_end = 0
        self.vm_mm = mm
        self.vm_flags = 0
        self.vm_pgoff = 0
        self.anon_vma = None
        self.anon_vma_chain = []
        self.detached = True
        self.freed = False
        self.anon_name = None
        self.vm_policy = None

    def __repr__(self) -> str:
        return (f"<vma {self.vm_start:#x}-{self.vm_end:#x} flags={self.vm_flags:#x} "
                f"pgoff={self.vm_pgoff:#x}>")


class pte_t:
    """A present PTE mapping one page of ``folio``.  (The model maps only
    order-0 folios, as this kernel does for anonymous memory with THP set to
    ``madvise`` and no mTHP sizes enabled.)  ``young`` is the accessed bit
    that reclaim's ``folio_referenced`` tests and clears; ``dirty`` the
    dirty bit, set by every write (a fault maps anonymous pages dirty) and
    cleared by MADV_FREE, so that reclaim can tell a lazyfree page written
    since from one it may discard."""

    __slots__ = ("folio", "write", "young", "dirty")
    present = True
    marker = 0

    def __init__(self, folio, write: bool):
        self.folio = folio
        self.write = write
        self.young = True
        self.dirty = True


class swp_pte_t:
    """A swap PTE: the page lives in swap slot ``offset``.  ``exclusive`` is
    pte_swp_exclusive(): the page was PageAnonExclusive when it was unmapped,
    so swap-in may give it back to this VMA's own anon_vma."""

    __slots__ = ("offset", "exclusive")
    present = False
    folio = None
    marker = 0

    def __init__(self, offset: int, exclusive: bool):
        self.offset = offset
        self.exclusive = exclusive


PTE_MARKER_GUARD = 1 << 3      # include/linux/swapops.h


class pte_marker:
    """A PTE marker (make_pte_marker()): no page and no swap slot.  The
    only kind a scenario makes is PTE_MARKER_GUARD (MADV_GUARD_INSTALL): any
    access to it is SIGSEGV.  Zapping (MADV_DONTNEED, MADV_FREE) leaves it,
    only unmapping drops it; fork copies it, mremap moves it."""

    __slots__ = ("marker",)
    present = False
    folio = None

    def __init__(self, marker: int):
        self.marker = marker


class folio:
    """struct folio, order 0.  ``mapping`` holds the anon_vma itself (the
    kernel stores its address with FOLIO_MAPPING_ANON set); ``None`` means not
    anonymous (the shared zero page).  ``_mapcount`` starts at -1 as in C."""

    __slots__ = ("pfn", "mapping", "index", "_mapcount", "_refcount",
                 "anon_exclusive", "locked", "swap", "freed", "swapbacked")

    def __init__(self, pfn: int):
        self.pfn = pfn
        self.mapping = None
        self.index = 0
        self._mapcount = -1
        self._refcount = 1
        self.anon_exclusive = False
        self.locked = False
        self.swap = None            # the swap slot while in the swap cache
        self.freed = False
        # PG_swapbacked: cleared by MADV_FREE (folio_mark_lazyfree), so that
        # reclaim discards the folio instead of swapping it out
        self.swapbacked = True

    def __repr__(self) -> str:
        return f"<folio pfn={self.pfn:#x}>"


class mm_struct:
    """The address space.  ``pgd`` maps a virtual page number to its pte_t:
    the model's page tables, one level deep."""

    __slots__ = ("mm_mt", "map_count", "mmap_lock", "page_table_lock", "pgd",
                 "mm_users", "mmap_base", "start_brk", "brk")

    def __init__(self):
        self.mm_mt = maple_tree()
        self.map_count = 0
        self.mmap_lock = None
        self.page_table_lock = None
        self.pgd = {}
        self.mm_users = 1
        self.mmap_base = 0
        self.start_brk = 0              # the heap: [start_brk, brk)
        self.brk = 0
