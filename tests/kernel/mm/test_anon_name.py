"""prctl(PR_SET_VMA_ANON_NAME) (kernel/sys.c, mm/madvise.c): names take part
in merging.  The live kernel of this machine is built without
CONFIG_ANON_VMA_NAME, so these expectations come from the 6.18 source:
is_mergeable_vma() requires anon_vma_name_eq(), madvise_update_vma() splits
with vma_modify_name(), vm_area_dup() and dup_mmap() copy the name, and
anon_vma_compatible() does not look at it."""

from __future__ import annotations

from anonvma.kernel.include.errno import EAGAIN, EINVAL, ENOMEM
from anonvma.scenario import BASE, SCENARIO_END


def layout(machine, name="P0"):
    return [(v.vm_start - BASE >> 12, v.vm_end - BASE >> 12, v.anon_name)
            for v in machine.task(name).mm.mm_mt if BASE <= v.vm_start < SCENARIO_END]


def test_naming_part_of_a_vma_splits_it_and_unnaming_merges_it_back(machine):
    machine.do("P0 mmap 0 8\nP0 write 0\nP0 anon_name 2 2 a")
    assert layout(machine) == [(0, 2, None), (2, 4, "a"), (4, 8, None)]
    machine.do("P0 anon_name 4 2 a")            # the same name on the neighbour: merge
    assert layout(machine) == [(0, 2, None), (2, 6, "a"), (6, 8, None)]
    machine.do("P0 anon_name 0 8")              # no name: everything merges
    assert layout(machine) == [(0, 8, None)]


def test_different_names_refuse_the_merge_but_share_the_anon_vma(machine):
    machine.do("P0 mmap 0 4\nP0 anon_name 0 4 a\nP0 mmap 4 4\nP0 anon_name 4 4 b")
    assert layout(machine) == [(0, 4, "a"), (4, 8, "b")]
    machine.do("P0 write 0\nP0 write 4")
    # find_mergeable_anon_vma(): anon_vma_compatible() ignores names
    assert machine.vma("P0", 0).anon_vma is machine.vma("P0", 4).anon_vma
    # a new unnamed mapping next to a named one stays apart
    machine.do("P0 mmap 8 4")
    assert layout(machine)[-1] == (8, 12, None)


def test_fork_copies_names_and_brk_does_not_expand_a_named_heap(machine):
    machine.do("P0 brk 2\nP0 anon_name 0 2 heap\nP0 fork P1\nP1 brk 4")
    assert layout(machine, "P1") == [(0, 2, "heap"), (2, 4, None)]


def test_prctl_errors(machine):
    k = machine.kernel
    machine.do("P0 mmap 0 4")
    assert k.prctl_set_vma(BASE, 4096, "a[1]") == -EINVAL          # not a name char
    assert k.prctl_set_vma(BASE, 4096, "x" * 80) == -EINVAL        # too long
    assert k.prctl_set_vma(BASE + 1, 4096, "a") == -EINVAL         # unaligned
    assert k.prctl_set_vma(BASE, 8 << 12, "a") == -ENOMEM          # hole after the VMA
    assert layout(machine) == [(0, 4, "a")]                        # named all the same
    k.sysctl_max_map_count = 1
    assert k.prctl_set_vma(BASE + 4096, 4096, "b") == -EAGAIN      # no split: EAGAIN
