"""SLUB's slabs: order-0 pages from the zone; an empty slab more than the
node's min_partial goes back (__slab_free(), discard_slab()), a
SLAB_TYPESAFE_BY_RCU cache's only after a grace period (rcu_free_slab())."""

from __future__ import annotations

from anonvma.kernel import Linux
from anonvma.kernel.include.gfp import GFP_KERNEL, GFP_NOWAIT
from anonvma.kernel.kernel.locking.rwsem import down_write
from anonvma.kernel.mm.failslab import failslab
from anonvma.kernel.mm.mm_types import anon_vma_chain
from anonvma.kernel.mm.slub import MIN_PARTIAL, SLAB_TYPESAFE_BY_RCU
from anonvma.scenario import parse
from anonvma.session import Config, Session


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


def _process_with_written_vmas(n: int):
    """A booted kernel whose P0 has ``n`` written one-page VMAs (a gap
    between each, so that none merge: ``n`` anon_vmas)."""
    text = "".join(f"P0 mmap {2 * i} 1\nP0 write {2 * i}\n" for i in range(n))
    machine = Session(parse(text), Config(lockdep=False, checks=False, trace=False)).boot()
    machine.run_steps()
    return machine


def _slab_state(k: Linux) -> tuple:
    """The zone's free pages and, per cache, its slabs and every object it
    has ever made (live, on its freelist, or in a discarded slab)."""
    return (k.zone.nr_free,
            [(s.nr_slabs, len(s.live) + len(s.freelist) + len(s.discarded))
             for s in k.slab_caches])


def test_a_long_fork_exit_loop_keeps_rcu_callbacks_and_slabs_bounded():
    """fork + exit takes no rcu_read_lock(), yet the exiting child's emptied
    anon_vma slabs must go back: the child's last context switch is a
    quiescent state, and with nobody reading the grace period is over.
    Every round then ends in the state the first one left: the same free
    pages, the same slabs, no object made anew."""
    machine = _process_with_written_vmas(300)
    k = machine.kernel
    parent = machine.runner.procs["P0"].task
    states = []
    for _ in range(30):
        k.current = parent
        child = k.kernel_clone("child")
        k.current = child
        k.do_group_exit()
        assert k.rcu_state.cblist == []
        for s in k.slab_caches:
            assert s.nr_slabs == _ceil_div(len(s.live), s.objs_per_slab) + MIN_PARTIAL
        states.append(_slab_state(k))
    assert states == [states[0]] * len(states)


def test_a_return_to_user_space_ends_the_grace_period_of_a_munmap():
    """munmap() of many anon VMAs empties anon_vma slabs; back in user space
    the task has passed a quiescent state, so their pages are back in the
    zone after the line, with no rcu_read_lock() anywhere."""
    machine = _process_with_written_vmas(300)
    k = machine.kernel
    s = k.anon_vma_cachep
    slabs, free = s.nr_slabs, k.zone.nr_free
    machine.run_step(parse("P0 munmap 0 600\n").steps[0])
    assert k.rcu_state.cblist == []
    assert s.nr_slabs == _ceil_div(len(s.live), s.objs_per_slab) + MIN_PARTIAL < slabs
    assert k.zone.nr_free > free


def test_a_new_slab_constructs_all_its_objects_and_the_freelist_holds_every_free_one():
    """allocate_slab() runs setup_object(), the constructor, on every object
    of a new slab; the slab's other objects are then handed out without
    another page, and only a full cache takes one."""
    k = Linux()
    k.spawn_init("P0")
    constructed = []
    s = k.kmem_cache_create("test", anon_vma_chain, 64, ctor=constructed.append)
    free = k.zone.nr_free
    objs = [k.kmem_cache_alloc(s, GFP_KERNEL)]
    assert len(constructed) == s.objs_per_slab and k.zone.nr_free == free - 1
    objs += [k.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(s.objs_per_slab - 1)]
    assert len(constructed) == s.objs_per_slab and k.zone.nr_free == free - 1
    assert set(objs) == set(constructed) and not s.freelist
    objs.append(k.kmem_cache_alloc(s, GFP_KERNEL))
    assert len(constructed) == 2 * s.objs_per_slab and k.zone.nr_free == free - 2
    for obj in objs:
        k.kmem_cache_free(s, obj)
    assert len(s.freelist) == s.nr_slabs * s.objs_per_slab


def test_the_counters_count_every_allocation_and_free_and_no_failed_allocation():
    """/sys/kernel/slab's alloc and free totals: a reused object counts
    again, a failed allocation not at all."""
    k = Linux()
    k.spawn_init("P0")
    s = k.kmem_cache_create("test", anon_vma_chain, 64)
    objs = [k.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(3)]
    k.kmem_cache_free(s, objs.pop())
    objs.append(k.kmem_cache_alloc(s, GFP_KERNEL))      # the freed object again
    assert (s.nr_allocated, s.nr_freed) == (4, 1)
    k.failslab = failslab()
    k.failslab.attr.probability, k.failslab.attr.verbose = 100, 0
    assert k.kmem_cache_alloc(s, GFP_NOWAIT) is None
    assert (s.nr_allocated, s.nr_freed) == (4, 1)
    for obj in objs:
        k.kmem_cache_free(s, obj)
    assert (s.nr_allocated, s.nr_freed) == (4, 4) and not s.live


def test_the_constructor_initialises_a_reused_anon_vma_rwsem_in_place():
    """anon_vma_ctor()'s init_rwsem() writes the rwsem inside the object:
    an anon_vma of a slab given back and allocated again has the same rwsem,
    unlocked, whatever a buggy user left in it."""
    k = Linux()
    k.spawn_init("P0")
    s = k.anon_vma_cachep
    objs = [k.anon_vma_alloc() for _ in range(20 * s.objs_per_slab)]
    stale = objs[0]
    sem = stale.rwsem
    down_write(sem)                     # freed with its lock held
    for av in objs:
        k.kmem_cache_free(s, av)
    k.rcu_qs()
    assert stale in s.discarded
    again = [k.anon_vma_alloc() for _ in range(20 * s.objs_per_slab)]
    assert stale in again and stale.rwsem is sem
    assert sem.owner is None and not sem.readers and not sem.wait_list
    assert all(av.rwsem.key is k.anon_vma_rwsem_key for av in again)
