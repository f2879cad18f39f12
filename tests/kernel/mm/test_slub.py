"""SLUB's slabs: order-0 pages from the zone; an empty slab more than the
node's min_partial goes back (__slab_free(), discard_slab()), a
SLAB_TYPESAFE_BY_RCU cache's only after a grace period (rcu_free_slab())."""

from __future__ import annotations

from anonvma.kernel import Linux
from anonvma.kernel.include.gfp import GFP_KERNEL
from anonvma.kernel.mm.slub import MIN_PARTIAL, SLAB_TYPESAFE_BY_RCU


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _fill_and_empty(k: Linux, s, slabs: int) -> tuple[int, int]:
    """Allocate ``slabs`` slabs' worth of objects and free them again: the
    slabs the cache then has, and the zone's free pages before and after."""
    objs = [k.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(slabs * s.objs_per_slab)]
    assert s.nr_slabs >= slabs
    before = k.zone.nr_free
    for obj in objs:
        k.kmem_cache_free(s, obj)
    return before, k.zone.nr_free


def test_a_cache_keeps_min_partial_empty_slabs_and_gives_back_the_rest():
    k = Linux()
    k.spawn_init("P0")
    s = k.anon_vma_chain_cachep
    assert not s.flags & SLAB_TYPESAFE_BY_RCU
    before, after = _fill_and_empty(k, s, 20)
    assert s.nr_slabs == _ceil_div(len(s.live), s.objs_per_slab) + MIN_PARTIAL
    assert after - before == 20 - MIN_PARTIAL


def test_a_typesafe_by_rcu_slab_goes_back_only_after_a_grace_period():
    """The anon_vma cache: a reader that found an anon_vma under
    rcu_read_lock() may still look at its memory, so the emptied slabs'
    pages wait for the reader to leave its section."""
    k = Linux()
    k.spawn_init("P0")
    s = k.anon_vma_cachep
    assert s.flags & SLAB_TYPESAFE_BY_RCU
    k.rcu_read_lock()
    before, after = _fill_and_empty(k, s, 20)
    assert s.nr_slabs == _ceil_div(len(s.live), s.objs_per_slab) + MIN_PARTIAL
    assert after == before                  # the pages wait for the grace period
    k.rcu_read_unlock()
    assert k.zone.nr_free - before == 20 - MIN_PARTIAL
