"""Near misses: an interleaving that a class of concurrency bugs needs, seen
in a run that did not fail.

A run that failed is a report; one that came close is a program worth more
schedules.  The search (cold.py) gives a concurrent program whose runs show
a near miss more schedules of every strategy (AFL's energy, spent where a
rare interleaving has already been seen) and keeps it as a parent that the
mutants of its family are drawn from first: the interleaving needed one
configuration (preemption, the zone filled after the prefix, a short
block) and one shape of the program, and its neighbours share them.  This
is the directed step of concurrency fuzzers that first look for a pair of
accesses that may race and then steer the schedule to them (Snowboard's
potential memory communications, Gong et al., SOSP 2021; Razzer, Jeong et
al., S&P 2019), with the pair observed in the model instead of profiled.

One near miss is watched: a **reuse under a reader**.  An object of a
SLAB_TYPESAFE_BY_RCU cache (the anon_vma cache) is freed while another task
is inside an RCU read section, and handed out again before that task has
left the section.  A lookup under ``rcu_read_lock()`` that found the object
before the free may then read the new object's fields: the type stays, the
identity does not, which is why such lookups must check again what they
found (include/linux/slab.h, SLAB_TYPESAFE_BY_RCU).  Every era whose
lookups do check sees the same near misses without failing.
"""

from __future__ import annotations

from ..kernel.mm.slub import SLAB_TYPESAFE_BY_RCU


class ReuseUnderReader:
    """Calls ``seen()`` at each reuse under a reader of one kernel's run:
    an object of a SLAB_TYPESAFE_BY_RCU cache allocated again while a task
    that was in an RCU read section at its free (other than the freeing
    one) is still in that section."""

    def __init__(self, kernel, seen):
        self.kernel = kernel
        self.seen = seen
        self.freed: dict = {}           # object -> the other readers at its free
        kernel.trace.kmem_cache_free.register(self.free)
        kernel.trace.kmem_cache_alloc.register(self.alloc)

    def free(self, call_site, obj, cache) -> None:
        if not cache.flags & SLAB_TYPESAFE_BY_RCU:
            return
        current = self.kernel.current
        readers = {t: section for t, section in self.kernel.rcu_state.readers.items()
                   if t is not current}
        if readers:
            self.freed[obj] = readers

    def alloc(self, call_site, obj, cache, gfp) -> None:
        if obj is None or not self.freed:
            return
        readers = self.freed.pop(obj, None)
        if readers is not None:
            now = self.kernel.rcu_state.readers
            if any(now.get(t) == section for t, section in readers.items()):
                self.seen()
