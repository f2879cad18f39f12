"""Slab caches (mm/slub.c): the only way the model creates rmap objects.

Every allocation and free fires ``kmem_cache_alloc`` / ``kmem_cache_free``
with the caller's frame as ``call_site`` (the kernel's ``_RET_IP_``), the
object, the cache and the GFP flags, exactly what the live kernel's kmem
events carry.  Freed objects go on a LIFO free list and are handed out again,
as SLUB's per-CPU freelist does: with SLAB_TYPESAFE_BY_RCU (the anon_vma
cache) this reuse is what makes a stale anon_vma pointer dangerous, and the
constructor runs once per object, not once per allocation.
"""

from __future__ import annotations

import sys

SLAB_TYPESAFE_BY_RCU = 0x00080000
SLAB_PANIC = 0x00040000
SLAB_ACCOUNT = 0x04000000
# /sys/kernel/slab/<cache>/failslab: the cache may fail when failslab's
# cache-filter is on (mm/failslab.c).
SLAB_FAILSLAB = 0x02000000


# mm/slub.c: a node keeps this many partial slabs, empty ones among them,
# before __slab_free() gives an empty slab back (min_partial is
# ilog2(size) / 2 clamped to [MIN_PARTIAL, MAX_PARTIAL]: MIN_PARTIAL for
# every cache here).
MIN_PARTIAL = 5


class kmem_cache:
    """A cache of one object type.  Its slabs are order-0 pages from the
    zone, ``objs_per_slab`` objects each.  The model packs the live objects
    into as few slabs as they need, so the slabs beyond those are the empty
    ones; SLUB keeps MIN_PARTIAL of them and discards the rest.  The
    freelist holds every object of the slabs that is not live."""

    __slots__ = ("name", "object_type", "object_size", "flags", "ctor", "objs_per_slab",
                 "nr_slabs", "freelist", "discard_at", "nr_freed", "live", "discarded")

    def __init__(self, name: str, object_type, object_size: int, flags: int, ctor):
        self.name = name
        self.object_type = object_type
        # sizeof() of the C struct on x86-64 (/sys/kernel/slab/*/object_size
        # of a live 6.18): what failslab's "space" budget is counted in.
        self.object_size = object_size
        self.flags = flags
        self.ctor = ctor
        self.objs_per_slab = 4096 // object_size
        self.nr_slabs = 0
        self.freelist: list = []
        self.discard_at = (MIN_PARTIAL + 1) * self.objs_per_slab
        # Objects of slabs given back to the zone: what the cache's next
        # new slab is made of
        self.discarded: list = []
        self.nr_freed = 0
        # Objects handed out and not freed: what /sys/kernel/slab/*/objects
        # counts, and what leak and invariant checks walk.  A dict, so that
        # walks go in allocation order, the same in every run.
        self.live: dict = {}

    @property
    def nr_allocated(self) -> int:
        """Every allocation is either still live or was freed: one counter
        fewer to keep on the allocation path."""
        return self.nr_freed + len(self.live)

    def __repr__(self) -> str:
        return f"<kmem_cache {self.name}>"


class Slub:
    """The slab allocator's entry points, mixed into the kernel."""

    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def kmem_cache_create(self, name: str, object_type, object_size: int, flags: int = 0,
                          ctor=None) -> kmem_cache:
        s = kmem_cache(name, object_type, object_size, flags, ctor)
        self.slab_caches.append(s)
        return s

    def kmem_cache_alloc(self, s: kmem_cache, gfpflags: int):
        # slab_pre_alloc_hook(): might_alloc() first, then failslab.
        self.might_alloc(gfpflags)
        freelist = s.freelist
        # Every free object of the cache's slabs is on the freelist, so an
        # empty one means the slabs are full.
        if (self.failslab is None or not self.should_failslab(s, gfpflags)) \
                and (freelist or self.new_slab(s, gfpflags)):
            obj = freelist.pop()
            obj.freed = False
            s.live[obj] = None
            tp = self.trace.kmem_cache_alloc
            if tp.probes:
                tp(sys._getframe(1), obj, s, gfpflags)
            return obj
        tp = self.trace.slab_out_of_memory
        if tp.probes:
            tp(sys._getframe(1), s, gfpflags)
        tp = self.trace.kmem_cache_alloc
        if tp.probes:
            tp(sys._getframe(1), None, s, gfpflags)
        return None

    def new_slab(self, s: kmem_cache, gfpflags: int) -> bool:
        """A new slab page, allocated with the caller's GFP flags: this is
        where a slab allocation may reclaim, or fail under pressure.  Its
        objects go on the freelist, constructed as allocate_slab()'s
        setup_object() does for every object of a new slab: those of the
        cache's last discarded slab if there are any (the page allocator
        hands its most recently freed page out first), handed out in the
        order they were discarded in, latest first."""
        if not self.alloc_pages(gfpflags):
            return False
        s.nr_slabs += 1
        n = s.objs_per_slab
        discarded = s.discarded
        if discarded:
            objs = discarded[-n:]
            del discarded[-n:]
        else:
            objs = [s.object_type() for _ in range(n)]
            for obj in objs:
                obj.freed = True
        ctor = s.ctor
        if ctor is not None:
            for obj in objs:
                ctor(obj)
        s.freelist.extend(objs)
        return True

    def kmem_cache_free(self, s: kmem_cache, obj) -> None:
        tp = self.trace.kmem_cache_free
        if tp.probes:
            tp(sys._getframe(1), obj, s)
        del s.live[obj]
        s.nr_freed += 1
        obj.freed = True
        freelist = s.freelist
        freelist.append(obj)
        # More than MIN_PARTIAL slabs' worth of free objects: an empty slab
        # beyond those the node keeps
        if len(freelist) >= s.discard_at:
            self.discard_slab(s)

    def discard_slab(self, s: kmem_cache) -> None:
        """An empty slab more than the node keeps goes back to the page
        allocator, with the objects freed longest ago (the freelist hands
        out the latest first).  A SLAB_TYPESAFE_BY_RCU slab's page waits for
        a grace period (rcu_free_slab()): a reader that found one of its
        objects under rcu_read_lock() still finds an object of the type."""
        objs = s.freelist[:s.objs_per_slab]
        del s.freelist[:s.objs_per_slab]
        s.nr_slabs -= 1
        if s.flags & SLAB_TYPESAFE_BY_RCU:
            self.call_rcu((s, objs), self.rcu_free_slab)
        else:
            self.free_slab(s, objs)

    def rcu_free_slab(self, head) -> None:
        self.free_slab(*head)

    def free_slab(self, s: kmem_cache, objs: list) -> None:
        s.discarded.extend(objs)
        self.free_one_page()

    def should_failslab(self, s: kmem_cache, gfpflags: int) -> bool:
        """mm/failslab.c: the configured fault injection decides."""
        return self.failslab.should_fail(self, s, gfpflags)
