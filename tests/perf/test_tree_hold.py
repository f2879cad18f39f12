"""A root-lock section on the interval-tree eras pays for the nodes of the
root's tree it visited (a transfer of the line the previous holder wrote,
each: within the socket or a hop away), the count worked by hand on the
model's treap."""

from __future__ import annotations

import pytest

from anonvma.kernel.include.gfp import GFP_KERNEL
from anonvma.kernel.mm.interval_tree import (
    anon_vma_interval_tree_insert, anon_vma_interval_tree_remove, rb_root_cached,
)
from anonvma.kernel.mm.mm_types import anon_vma_chain, vm_area_struct
from anonvma.perf.costs import load_costs

from lock_timing import US, machine, spawn

# Knuth's hash of the insert counter, the treap's priorities (interval_tree.py):
# 1: 2654435761, 2: 1013904226, 3: 3668339987, 4: 2027808452.


def _vma():
    """The same page range for every AVC, as fork_test's copies of a VMA."""
    vma = vm_area_struct()
    vma.vm_start, vma.vm_end, vma.vm_pgoff = 0x10000, 0x14000, 0x10
    return vma


def test_nodes_visited_by_hand():
    """Equal starts descend right.  B visits A (1); C visits A and B (2),
    then rotates above both (its priority is the highest); D visits C (1)
    and stays its right child.  Removing A (C's left child, with B as its
    right child): no rotation, B spliced up (1), C's subtree_last checked
    and unchanged (1)."""
    root = rb_root_cached()
    avcs = []
    counts = []
    for _ in range(4):
        avc = anon_vma_chain()
        avc.vma = _vma()
        anon_vma_interval_tree_insert(avc, root)
        avcs.append(avc)
        counts.append(root.nr_visited)
    a, b, c, d = avcs
    assert counts == [0, 1, 3, 4]
    assert root.rb_node is c and c.rb_left is a and a.rb_right is b and c.rb_right is d
    anon_vma_interval_tree_remove(a, root)
    assert root.nr_visited == 6 and c.rb_left is b


def _sections(variant, unlink, cores_per_socket=None):
    """A on CPU 0 links the first two AVCs to a root anon_vma; B on CPU 1
    then links two more (in a tree: 3 nodes visited), and again unlinks
    the first (2 visited, the previous holder on its own CPU).  The holds,
    in order."""
    kernel, sched, timing = machine(variant, 2, cores_per_socket=cores_per_socket)
    av = kernel.anon_vma_alloc()
    avcs = [kernel.anon_vma_chain_alloc(GFP_KERNEL) for _ in range(4)]

    def section(arrive, work):
        sched.charge(kernel.current, arrive, "user")
        kernel.anon_vma_lock_write(av)
        work()
        kernel.anon_vma_unlock_write(av)

    def link(*which):
        return lambda: [kernel.anon_vma_chain_link(_vma(), avcs[i], av) for i in which]

    def a():
        section(0, link(0, 1))

    def b():
        section(10 * US, link(2, 3))
        section(10 * US, lambda: unlink(avcs[0], av))

    spawn(kernel, sched, "A", a)
    spawn(kernel, sched, "B", b)
    sched.run()
    return av, timing.stat.holds


@pytest.mark.parametrize("cores_per_socket, line", [
    (None, "line_transfer_local_ns"),       # CPUs 0 and 1 share a socket
    (1, "line_transfer_remote_ns"),         # ... or are a hop apart
])
def test_the_hold_grows_with_the_nodes_visited_on_another_cpu(cores_per_socket, line):
    lock = load_costs()["lock"]
    ns = load_costs()["topology"][line]
    av, holds = _sections("v3.7", lambda avc, av: anon_vma_interval_tree_remove(avc, av.rb_root),
                          cores_per_socket)
    assert av.rb_root.nr_visited == 1 + 3 + 2
    # the lock's own line and the three nodes B's links visited
    assert holds == pytest.approx([lock["critical_ns"], lock["critical_ns"] + ns + 3 * ns,
                                   lock["critical_ns"]])


def test_a_list_pays_no_nodes():
    """3.0's anon_vma keeps its AVCs on a list: the same sections pay
    critical_ns and the line only."""
    lock = load_costs()["lock"]
    local = load_costs()["topology"]["line_transfer_local_ns"]

    def list_del(avc, av):
        del av.head[avc]
    av, holds = _sections("v3.0", list_del)
    assert holds == pytest.approx([lock["critical_ns"], lock["critical_ns"] + local,
                                   lock["critical_ns"]])


def test_one_cpu_pays_no_nodes():
    """On one CPU every node is in its own cache: 3.7's fork_test takes
    3.0's time event for event (the one-process calibration holds), and on
    two CPUs the tree's nodes cost it."""
    from anonvma.perf import run_workload
    one = [run_workload("fork_test", v, 1).makespan_ns for v in ("v3.0", "v3.7")]
    assert one[0] == one[1]
    two = [run_workload("fork_test", v, 2).makespan_ns for v in ("v3.0", "v3.7")]
    assert two[1] > two[0]
