"""Tests for the anon_vma interval tree (model of mm/interval_tree.c)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonvma.kernel.mm.interval_tree import (
    PAGE_SHIFT,
    anon_vma_interval_tree_check,
    anon_vma_interval_tree_empty,
    anon_vma_interval_tree_foreach,
    anon_vma_interval_tree_insert,
    anon_vma_interval_tree_iter_first,
    anon_vma_interval_tree_iter_next,
    anon_vma_interval_tree_remove,
    anon_vma_interval_tree_verify,
    rb_root_cached,
)
from anonvma.kernel.mm.mm_types import anon_vma_chain

PAGE = 1 << PAGE_SHIFT


class VMA:
    __slots__ = ("vm_start", "vm_end", "vm_pgoff")

    def __init__(self, pgoff: int, pages: int) -> None:
        self.vm_pgoff = pgoff
        self.vm_start = 0x10000000 + pgoff * PAGE
        self.vm_end = self.vm_start + pages * PAGE


class AVC(anon_vma_chain):
    __slots__ = ("label",)

    def __init__(self, vma: VMA, label: int = 0) -> None:
        super().__init__()
        self.vma = vma
        self.label = label

    def __repr__(self) -> str:
        return f"AVC#{self.label}"


def interval(avc: AVC) -> tuple[int, int]:
    vma = avc.vma
    return vma.vm_pgoff, vma.vm_pgoff + ((vma.vm_end - vma.vm_start) >> PAGE_SHIFT) - 1


def shape(root: rb_root_cached):
    """The tree's exact structure, by label, for comparing two runs."""

    def walk(node):
        if node is None:
            return None
        return (node.label, walk(node.rb_left), walk(node.rb_right))

    return walk(root.rb_node)


# --- basics -----------------------------------------------------------------


def test_empty_tree():
    root = rb_root_cached()
    assert anon_vma_interval_tree_empty(root)
    assert root  # never falsy, even when empty
    assert len(root) == 0 and list(root) == []
    assert anon_vma_interval_tree_iter_first(root, 0, 1 << 60) is None
    assert list(anon_vma_interval_tree_foreach(root, 0, 1 << 60)) == []
    assert anon_vma_interval_tree_check(root) == 0


def test_insert_query_remove():
    root = rb_root_cached()
    a = AVC(VMA(0, 4), 1)  # [0, 3]
    b = AVC(VMA(2, 1), 2)  # [2, 2]
    c = AVC(VMA(10, 5), 3)  # [10, 14]
    for avc in (c, a, b):
        anon_vma_interval_tree_insert(avc, root)
    assert not anon_vma_interval_tree_empty(root)
    assert list(root) == [a, b, c] and len(root) == 3
    assert a.cached_vma_start == 0 and a.cached_vma_last == 3
    assert list(anon_vma_interval_tree_foreach(root, 2, 2)) == [a, b]
    assert list(anon_vma_interval_tree_foreach(root, 3, 10)) == [a, c]
    assert list(anon_vma_interval_tree_foreach(root, 4, 9)) == []
    assert list(anon_vma_interval_tree_foreach(root, 15, 100)) == []
    first = anon_vma_interval_tree_iter_first(root, 0, 100)
    assert first is a
    assert anon_vma_interval_tree_iter_next(first, 0, 100) is b
    anon_vma_interval_tree_remove(a, root)
    assert a.rb is None
    assert list(root) == [b, c]
    anon_vma_interval_tree_check(root)
    anon_vma_interval_tree_remove(b, root)
    anon_vma_interval_tree_remove(c, root)
    assert anon_vma_interval_tree_empty(root)
    assert anon_vma_interval_tree_check(root) == 0


def test_equal_starts_keep_insertion_order():
    root = rb_root_cached()
    avcs = [AVC(VMA(7, 1 + i % 3), i) for i in range(50)]
    for avc in avcs:
        anon_vma_interval_tree_insert(avc, root)
    assert list(root) == avcs
    # A re-inserted AVC goes after every other AVC with its start.
    anon_vma_interval_tree_remove(avcs[10], root)
    anon_vma_interval_tree_insert(avcs[10], root)
    expected = avcs[:10] + avcs[11:] + [avcs[10]]
    assert list(root) == expected
    assert list(anon_vma_interval_tree_foreach(root, 7, 7)) == expected
    anon_vma_interval_tree_check(root)


def test_double_insert_and_bad_remove_are_model_bugs():
    root, other = rb_root_cached(), rb_root_cached()
    avc = AVC(VMA(0, 1))
    anon_vma_interval_tree_insert(avc, root)
    with pytest.raises(AssertionError, match="already in a tree"):
        anon_vma_interval_tree_insert(avc, root)
    with pytest.raises(AssertionError, match="already in a tree"):
        anon_vma_interval_tree_insert(avc, other)
    with pytest.raises(AssertionError, match="another one"):
        anon_vma_interval_tree_remove(avc, other)
    anon_vma_interval_tree_remove(avc, root)
    with pytest.raises(AssertionError, match="not in this tree"):
        anon_vma_interval_tree_remove(avc, root)
    anon_vma_interval_tree_check(root)
    anon_vma_interval_tree_check(other)


def test_verify_detects_vma_changed_after_insert():
    root = rb_root_cached()
    vma = VMA(100, 8)
    avc = AVC(vma)
    anon_vma_interval_tree_insert(avc, root)
    assert anon_vma_interval_tree_verify(avc)

    vma.vm_end -= PAGE  # shrink without the pre/post_update bracket
    assert not anon_vma_interval_tree_verify(avc)
    vma.vm_end += PAGE
    assert anon_vma_interval_tree_verify(avc)
    vma.vm_start += PAGE
    vma.vm_pgoff += 1  # both change together, as for a front split
    assert not anon_vma_interval_tree_verify(avc)
    # The tree still works from its cached keys: the stale AVC is found at its
    # old range and can be removed; re-inserting picks up the new range.
    assert list(anon_vma_interval_tree_foreach(root, 100, 100)) == [avc]
    anon_vma_interval_tree_remove(avc, root)
    anon_vma_interval_tree_insert(avc, root)
    assert anon_vma_interval_tree_verify(avc)
    assert list(anon_vma_interval_tree_foreach(root, 100, 100)) == []
    assert list(anon_vma_interval_tree_foreach(root, 101, 101)) == [avc]


def test_check_catches_corruption():
    root = rb_root_cached()
    avcs = [AVC(VMA(i, 2), i) for i in range(20)]
    for avc in avcs:
        anon_vma_interval_tree_insert(avc, root)
    anon_vma_interval_tree_check(root)
    root.rb_node.rb_subtree_last += 1
    with pytest.raises(AssertionError, match="rb_subtree_last"):
        anon_vma_interval_tree_check(root)
    root.rb_node.rb_subtree_last -= 1
    root.rb_leftmost = avcs[1]
    with pytest.raises(AssertionError, match="rb_leftmost"):
        anon_vma_interval_tree_check(root)


# --- against a brute-force model ----------------------------------------------

POOL = 12

op = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, POOL - 1)),
    st.tuples(st.just("remove"), st.integers(0, POOL - 1)),
    # Re-key an AVC the way vma_adjust does: remove, edit the VMA, re-insert.
    st.tuples(st.just("move"), st.integers(0, POOL - 1), st.integers(0, 30), st.integers(1, 8)),
    st.tuples(st.just("query"), st.integers(0, 40), st.integers(0, 12)),
)
VMA_SPECS = st.lists(
    st.tuples(st.integers(0, 30), st.integers(1, 8)), min_size=POOL, max_size=POOL
)


def run(specs, ops):
    """Apply ops to a tree and a brute-force list; return what was observed."""
    avcs = [AVC(VMA(pgoff, pages), i) for i, (pgoff, pages) in enumerate(specs)]
    root = rb_root_cached()
    inserted: list[AVC] = []  # in insertion order
    observed = []
    for o in ops:
        kind, i = o[0], o[1]
        if kind == "query":
            first, last = i, i + o[2]
            got = list(anon_vma_interval_tree_foreach(root, first, last))
            # Stable sort of the insertion-ordered list: ties in insertion
            # order, as the kernel's insert puts equal starts to the right.
            want = sorted(
                (a for a in inserted if interval(a)[0] <= last and first <= interval(a)[1]),
                key=lambda a: interval(a)[0],
            )
            assert got == want
            observed.append([a.label for a in got])
        else:
            avc = avcs[i]
            if avc in inserted:
                anon_vma_interval_tree_remove(avc, root)
                inserted.remove(avc)
                if kind == "move":
                    vma = avc.vma
                    vma.vm_pgoff = o[2]
                    vma.vm_start = 0x10000000 + o[2] * PAGE
                    vma.vm_end = vma.vm_start + o[3] * PAGE
                    anon_vma_interval_tree_insert(avc, root)
                    inserted.append(avc)
            elif kind != "remove":
                anon_vma_interval_tree_insert(avc, root)
                inserted.append(avc)
        assert anon_vma_interval_tree_check(root) == len(inserted)
        assert anon_vma_interval_tree_empty(root) == (not inserted)
        assert list(root) == sorted(inserted, key=lambda a: interval(a)[0])
        assert all(anon_vma_interval_tree_verify(a) for a in inserted)
    observed.append(shape(root))
    return observed


@settings(max_examples=150, deadline=None)
@given(VMA_SPECS, st.lists(op, max_size=100))
def test_matches_brute_force_and_is_deterministic(specs, ops):
    assert run(specs, ops) == run(specs, ops)


# --- complexity -----------------------------------------------------------------


visited: set[int] = set()


class CountingAVC(anon_vma_chain):
    """An AVC that records every node the tree code touches."""

    __slots__ = ()

    def __init__(self, vma: VMA) -> None:
        super().__init__()
        self.vma = vma

    def __getattribute__(self, name):
        visited.add(id(self))
        return super().__getattribute__(name)


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_query_visits_log_n_plus_k_nodes(order):
    n = 10_000
    # Disjoint intervals [10i, 10i + 4]; sorted insertion is the natural order
    # of a growing anon_vma and the worst case for an unbalanced tree.
    avcs = [CountingAVC(VMA(10 * i, 5)) for i in range(n)]
    if order == "shuffled":
        random.Random(1).shuffle(avcs)
    root = rb_root_cached()
    for avc in avcs:
        anon_vma_interval_tree_insert(avc, root)
    worst = 0
    for i in range(0, n, 97):
        visited.clear()
        got = list(anon_vma_interval_tree_foreach(root, 10 * i + 1, 10 * i + 2))
        assert len(got) == 1 and got[0].vma.vm_pgoff == 10 * i
        worst = max(worst, len(visited))
        visited.clear()
        assert list(anon_vma_interval_tree_foreach(root, 10 * i + 5, 10 * i + 9)) == []
        worst = max(worst, len(visited))
    assert worst < 200


def test_long_random_sequence():
    """Deep trees and many rotations, beyond what short hypothesis runs reach."""
    rng = random.Random(6_18)
    specs = [(rng.randrange(0, 400), rng.randrange(1, 40)) for _ in range(150)]
    ops = []
    for _ in range(2500):
        i = rng.randrange(150)
        r = rng.random()
        if r < 0.45:
            ops.append(("insert", i))
        elif r < 0.65:
            ops.append(("remove", i))
        elif r < 0.8:
            ops.append(("move", i, rng.randrange(0, 400), rng.randrange(1, 40)))
        else:
            ops.append(("query", rng.randrange(0, 450), rng.randrange(0, 30)))
    run(specs, ops)
