"""The VMA tree (model of lib/maple_tree.c): every query against a plain
sorted reference, through the operations mmap, munmap, split, mremap and
dup_mmap perform."""

from __future__ import annotations

import random

import pytest

from anonvma.kernel.lib.maple_tree import maple_tree
from anonvma.kernel.mm.mm_types import vm_area_struct

PAGE = 4096


def vma(start_page: int, pages: int = 1) -> vm_area_struct:
    v = vm_area_struct()
    v.vm_start = start_page * PAGE
    v.vm_end = (start_page + pages) * PAGE
    return v


def ref_find(vmas, addr):
    return next((v for v in vmas if v.vm_end > addr), None)


def test_queries_match_a_sorted_reference():
    rng = random.Random(12)
    mt = maple_tree()
    ref: list[vm_area_struct] = []
    for _ in range(400):
        op = rng.random()
        if op < 0.5 or not ref:
            # a free range of 1-3 pages, anywhere (stores at the top and below it)
            start = rng.randrange(0, 600)
            new = vma(start, rng.randrange(1, 4))
            if any(v.vm_start < new.vm_end and new.vm_start < v.vm_end for v in ref):
                continue
            mt.store(new)
            ref.append(new)
            ref.sort(key=lambda v: v.vm_start)
        elif op < 0.7:
            old = rng.choice(ref)
            mt.erase(old)
            ref.remove(old)
        elif op < 0.8:
            # the front of a VMA moves up (a split's remainder, mremap)
            old = rng.choice(ref)
            if old.vm_end - old.vm_start > PAGE:
                start = old.vm_start
                old.vm_start += PAGE
                mt.rekey(old, start)
        addr = rng.randrange(0, 610) * PAGE + rng.randrange(PAGE)
        assert mt.find(addr) is ref_find(ref, addr)
        found = mt.lookup(addr)
        assert found is next((v for v in ref if v.vm_start <= addr < v.vm_end), None)
        below = [v for v in ref if v.vm_end <= addr]
        assert mt.prev_of_addr(addr) is (below[-1] if below else None)
        end = addr + rng.randrange(1, 8) * PAGE
        assert mt.range(addr, end) == [v for v in ref if v.vm_start < end and v.vm_end > addr]
        assert list(mt) == ref and len(mt) == len(ref)
        for i, v in enumerate(ref):
            assert mt.prev(v) is (ref[i - 1] if i else None)
            assert mt.next(v) is (ref[i + 1] if i + 1 < len(ref) else None)


def test_dup_replaces_in_place_and_truncate_drops_the_rest():
    parent = maple_tree()
    olds = [vma(2 * i) for i in range(10)]
    for v in olds:
        parent.store(v)
    child = parent.dup()
    news = []
    for v in olds[:6]:
        new = vma(v.vm_start // PAGE)
        child.store(new)                # same start: replaces the parent's entry
        news.append(new)
    child.truncate(olds[6].vm_start)    # where a failed dup_mmap() stopped
    assert list(child) == news
    assert list(parent) == olds         # the parent's tree is untouched


def test_erase_of_a_missing_entry_fails():
    mt = maple_tree()
    mt.store(vma(4))
    with pytest.raises(ValueError):
        mt.erase(vma(6))
