"""mm/rmap.c, function by function.  Expected values follow the 6.18 source
(kernel-semantics.md §B.4): counters, refcounts, chain order, reuse."""

from __future__ import annotations

from anonvma.kernel.kernel.locking.rwsem import down_write, up_write
from anonvma.kernel.mm.failslab import failslab
from anonvma.kernel.mm.rmap import rmap_walk_control


def chain(vma):
    return [avc.anon_vma for avc in vma.anon_vma_chain]


def test_anon_vma_prepare_makes_a_new_root(machine):
    machine.do("P0 mmap 0 4\nP0 write 0")
    vma = machine.vma("P0", 0)
    av = vma.anon_vma
    assert av.root is av and av.parent is av
    assert (av.refcount, av.num_children, av.num_active_vmas) == (1, 1, 1)
    assert chain(vma) == [av]
    assert machine.folio("P0", 0).mapping is av


def test_anon_vma_prepare_allocates_avc_before_anon_vma(machine):
    machine.do("P0 mmap 0 4\nP0 write 0")
    assert machine.sink.events == ["P0 +AVC1:prep", "P0 +AV1:prep"]


def test_read_fault_maps_zero_page_without_anon_vma(machine):
    machine.do("P0 mmap 0 4\nP0 read 1")
    assert machine.vma("P0", 0).anon_vma is None
    assert machine.folio("P0", 1) is machine.kernel.zero_folio
    machine.do("P0 write 1")        # COW from the zero page prepares it
    assert machine.vma("P0", 0).anon_vma is not None


def test_find_mergeable_anon_vma_prefers_next_and_needs_a_singular_chain(machine):
    # RW | RWX | RW: compatible neighbours (access flags do not count)
    machine.do("P0 mmap 0 12\nP0 mprotect 4 4 rwx\nP0 write 8\nP0 write 0\nP0 write 4")
    left, mid, right = (machine.vma("P0", p) for p in (0, 4, 8))
    # right and left faulted while mid had no anon_vma: two new roots
    assert left.anon_vma is not right.anon_vma
    # mid faulted last, with both neighbours faulted: next is tried first
    assert mid.anon_vma is right.anon_vma
    assert mid.anon_vma.num_active_vmas == 2


def test_anon_vma_fork_links_child_to_every_parent_anon_vma(machine):
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1")
    pvma, cvma = machine.vma("P0", 0), machine.vma("P1", 0)
    root = pvma.anon_vma
    child = cvma.anon_vma
    assert child is not root
    assert child.root is root and child.parent is root
    # the child's own anon_vma first, the root last
    assert chain(cvma) == [child, root]
    assert root.num_children == 2          # itself and the child
    assert root.refcount == 2              # its own reference and the child's pin
    # not a root: it does not count itself among its children
    assert (child.refcount, child.num_children, child.num_active_vmas) == (1, 0, 1)


def test_anon_vma_clone_reuses_an_anon_vma_without_vmas(machine):
    """The leapfrog: once the middle process is gone, its anon_vma is reused."""
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP0 exit\nP1 write 0\nP1 fork P2\nP1 exit")
    # P0's root has lost its VMA; P1's anon_vma (a child of the root) too.
    before = len(machine.kernel.anon_vma_cachep.live)
    machine.do("P2 write 0\nP2 fork P3")
    vma3 = machine.vma("P3", 0)
    av = vma3.anon_vma
    assert av.num_active_vmas == 1
    assert av is not vma3.anon_vma.root                   # a root is never reused
    assert len(machine.kernel.anon_vma_cachep.live) >= before
    reused = [e for e in machine.sink.events if e.startswith("P2 +AV") and ":fork" in e
              and not e.startswith("P2 +AVC")]
    # the region's fork reused an anon_vma: only the stack may have allocated
    assert len(reused) <= 1


def test_unlink_anon_vmas_two_loops_and_counters(machine):
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1")
    root = machine.vma("P0", 0).anon_vma
    machine.do("P1 exit")
    assert machine.sink.events[-6:] == [
        "P1 -AVC2:u1/pgt", "P1 -AV2:put", "P1 -AVC3:u2/pgt",
        "P1 -AVC4:u1/pgt", "P1 -AV3:put", "P1 -AVC5:u2/pgt"]
    assert (root.refcount, root.num_children, root.num_active_vmas) == (1, 1, 1)


def test_unlink_anon_vmas_clears_vma_anon_vma(machine):
    machine.do("P0 mmap 0 4\nP0 write 0")
    vma = machine.vma("P0", 0)
    machine.kernel.current = machine.task("P0")
    machine.kernel.unlink_anon_vmas(vma)
    assert vma.anon_vma is None and not vma.anon_vma_chain


def test_put_anon_vma_frees_child_before_root(machine):
    """6.18's __put_anon_vma frees the anon_vma, then drops the root's pin."""
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP0 exit")
    machine.do("P1 exit")
    frees = [e for e in machine.sink.events if e.startswith("P1 -AV") and ":put" in e]
    assert frees[:2] == ["P1 -AV2:put", "P1 -AV1:put"]


def test_rmap_walk_finds_every_mapping_after_fork(machine):
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 fork P2")
    folio = machine.folio("P0", 0)
    found = set()

    def rmap_one(f, vma, address, arg):
        if machine.kernel.page_vma_mapped(f, vma, address):
            found.add((vma.vm_mm, address))
        return True

    machine.kernel.rmap_walk_anon(folio, rmap_walk_control(rmap_one))
    assert found == {(machine.task(p).mm, machine.vma(p, 0).vm_start) for p in ("P0", "P1", "P2")}
    assert folio._mapcount == 2


def test_cow_copy_goes_to_the_faulting_vma_anon_vma(machine):
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 0")
    new = machine.folio("P1", 0)
    assert new is not machine.folio("P0", 0)
    assert new.mapping is machine.vma("P1", 0).anon_vma
    assert new.anon_exclusive and machine.folio("P0", 0)._mapcount == 0


def test_write_fault_reuse_moves_the_folio_to_the_vma_anon_vma(machine):
    """After the child is gone the parent's page has one reference: reused,
    and folio_move_anon_rmap points it at the parent's anon_vma."""
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 0\nP1 fork P2\nP2 exit")
    folio = machine.folio("P1", 0)
    assert not folio.anon_exclusive
    machine.do("P1 write 0")
    assert machine.folio("P1", 0) is folio
    assert folio.anon_exclusive and folio.mapping is machine.vma("P1", 0).anon_vma


def test_folio_lock_anon_vma_read_fast_path_and_try_lock(machine):
    machine.do("P0 mmap 0 4\nP0 write 0")
    k = machine.kernel
    folio = machine.folio("P0", 0)
    av = k.folio_lock_anon_vma_read(folio, None)
    assert av is folio.mapping and av.root.rwsem.readers == 1
    k.anon_vma_unlock_read(av)
    # a writer holds the root: a try_lock walker gives up and says so
    down_write(av.root.rwsem)
    rwc = rmap_walk_control(lambda *a: True, try_lock=True)
    assert k.folio_lock_anon_vma_read(folio, rwc) is None and rwc.contended
    assert k.folio_referenced(folio, True) == -1
    up_write(av.root.rwsem)
    assert k.folio_referenced(folio, True) == 1


def test_folio_get_anon_vma_pins_only_mapped_folios(machine):
    machine.do("P0 mmap 0 4\nP0 write 0")
    k = machine.kernel
    folio = machine.folio("P0", 0)
    av = k.folio_get_anon_vma(folio)
    assert av is folio.mapping and av.refcount == 2
    k.put_anon_vma(av)
    machine.do("P0 madvise 0 1 dontneed")
    assert k.folio_get_anon_vma(folio) is None


def fail_nth(k, task, nth, then=0):
    """/proc/<pid>/fail-nth for ``task`` with ignore-gfp-wait off, so that
    GFP_KERNEL allocations count; with ``then``, that many of the task's
    following allocations fail too (probability 100 and the task filter)."""
    fs = failslab()
    fs.ignore_gfp_reclaim = False
    fs.attr.verbose = 0
    if then:
        task.make_it_fail = fs.attr.task_filter = True
        fs.attr.probability, fs.attr.times = 100, 1 + then
    k.failslab = fs
    task.fail_nth = nth


def test_anon_vma_clone_failure_rolls_back(machine):
    """Both attempts fail (NOWAIT, then KERNEL): -ENOMEM, dst left clean,
    the partial chain unlinked (the 2026 fix: dst->anon_vma cleared)."""
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 0")
    k = machine.kernel
    k.current = machine.task("P1")
    src = machine.vma("P1", 0)
    dst = k.vm_area_dup(src)
    # src has two AVCs: the first clones, both tries for the second fail
    fail_nth(k, k.current, 2, then=1)
    assert k.anon_vma_clone(dst, src) == -12
    k.failslab = None
    assert dst.anon_vma is None and not dst.anon_vma_chain
    assert "P1 -AVC" in machine.sink.events[-1] and machine.sink.events[-1].endswith(":u1/err")
    k.vm_area_free(dst)
    machine.do("P1 exit\nP0 exit")
    assert not k.anon_vma_chain_cachep.live and not k.anon_vma_cachep.live


def test_anon_vma_clone_falls_back_to_gfp_kernel(machine):
    """The seed's fix: a failed GFP_NOWAIT try is retried with GFP_KERNEL."""
    machine.do("P0 mmap 0 4\nP0 write 0")
    fail_nth(machine.kernel, machine.task("P0"), 2)     # 1: vm_area_dup, 2: the NOWAIT avc
    machine.do("P0 fork P1")
    assert machine.sink.events[2:4] == ["P0 !AVC:clone/fork", "P0 +AVC2:clone/fork"]
    assert machine.vma("P1", 0).anon_vma is not None


def test_anon_vma_fork_failure_leaves_nothing_behind(machine):
    machine.do("P0 mmap 0 4\nP0 write 0")
    k = machine.kernel
    fail_nth(k, machine.task("P0"), 3)       # 1: vm_area_dup, 2: clone avc, 3: anon_vma_fork's anon_vma
    machine.do("P0 fork P1")
    k.failslab = None
    assert machine.sink.others[-1] == "P0 !fork ENOMEM"
    assert machine.sink.events[2:5] == ["P0 +AVC2:clone/fork", "P0 !AV:fork", "P0 -AVC2:u1/err"]
    machine.do("P0 exit")
    assert not k.anon_vma_chain_cachep.live and not k.anon_vma_cachep.live
    assert not k.vm_area_cachep.live


def _reuse_at_the_lookup(machine, f, then=None):
    """Make the next rmap lookup be preempted just after it read the folio's
    anon_vma and its root: meanwhile the folio's only mapper exits, which
    frees the anon_vma, and new anon_vmas are allocated until its slot comes
    back as the root of a tree of its own; then ``then(old_root)`` runs, as
    P0.  Returns the anon_vma, its root before, and the list the reuse is
    recorded in."""
    k = machine.kernel
    av = f.mapping
    old_root = av.root
    done = []

    def preempted():
        if done:
            return
        reader = k.current
        k.current = machine.task("P1")
        machine.do("P1 exit")
        k.current = machine.task("P0")
        while True:
            new = k.anon_vma_alloc()         # root = itself
            if new is av:
                break
        done.append(new)
        if then is not None:
            then(old_root)
        k.current = reader

    k.preempt_schedule_irq = preempted
    return av, old_root, done


def _faulted_child_page(machine):
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP1 write 1")
    f = machine.folio("P1", 1)
    assert f.mapping is machine.vma("P1", 1).anon_vma and f.mapping.root is not f.mapping
    return f


def test_folio_lock_anon_vma_read_survives_the_slot_reuse_on_its_trylock_path(machine):
    """6.18 locks the root it read and keeps the anon_vma only if the folio
    is still mapped: the reused slot's new root is never touched."""
    f = _faulted_child_page(machine)
    av, old_root, done = _reuse_at_the_lookup(machine, f)
    assert machine.kernel.folio_lock_anon_vma_read(f, None) is None
    assert done and av.root is av is not old_root
    assert not old_root.rwsem.owner and not av.rwsem.owner
    assert av.refcount == 1 and machine.kernel.current.rcu_read_lock_nesting == 0


def test_folio_lock_anon_vma_read_survives_the_slot_reuse_on_its_refcount_path(machine):
    """The trylock fails (a writer holds the old root): atomic_inc_not_zero()
    pins the reused anon_vma, which SLAB_TYPESAFE_BY_RCU makes harmless,
    and the folio_mapped() recheck drops it again."""
    f = _faulted_child_page(machine)
    av, old_root, done = _reuse_at_the_lookup(machine, f,
                                              then=lambda root: down_write(root.rwsem))
    assert machine.kernel.folio_lock_anon_vma_read(f, None) is None
    assert old_root.rwsem.owner is machine.task("P0")      # the writer's, untouched
    assert done and av.refcount == 1 and not av.rwsem.owner
    assert machine.kernel.current.rcu_read_lock_nesting == 0


def test_folio_get_anon_vma_survives_the_slot_reuse(machine):
    f = _faulted_child_page(machine)
    av, _old_root, done = _reuse_at_the_lookup(machine, f)
    assert machine.kernel.folio_get_anon_vma(f) is None
    assert done and av.refcount == 1
