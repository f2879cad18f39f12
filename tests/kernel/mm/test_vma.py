"""mm/vma.c, mm/mprotect.c, mm/mremap.c, mm/madvise.c: the rules that decide
merges, splits and moves, each checked on the structures (expected values
from the 6.18 source; the live kernel's traces of the same behaviour are in
tests/scenarios/kernel)."""

from __future__ import annotations

from anonvma.kernel.include.mm import VM_ACCOUNT, VM_DONTCOPY
from anonvma.kernel.mm.vma import vma_merge_struct


def test_vma_is_fork_child_means_a_chain_of_more_than_one(machine):
    machine.do("P0 mmap 0 4\nP0 mmap 8 4\nP0 write 0\nP0 fork P1")
    k = machine.kernel
    assert not k.vma_is_fork_child(machine.vma("P0", 0))      # singular chain
    assert k.vma_is_fork_child(machine.vma("P1", 0))          # cloned by fork
    assert not k.vma_is_fork_child(machine.vma("P1", 8))      # no anon_vma at all


def test_is_mergeable_anon_vma_cases(machine):
    machine.do("P0 mmap 0 4\nP0 mmap 4 4 rwx\nP0 mmap 8 4 rw\nP0 write 0\nP0 write 8")
    k = machine.kernel
    a, b, c = (machine.vma("P0", p) for p in (0, 4, 8))
    # case 1: the target (b) is unfaulted, the source (a) faulted and not a fork child
    vmg = vma_merge_struct(a.vm_mm, a.vm_start, a.vm_end, a.vm_flags, a.vm_pgoff,
                           middle=a, next=b, anon_vma=a.anon_vma)
    assert k.is_mergeable_anon_vma(vmg, True)
    # case 3: both faulted, different anon_vmas
    vmg = vma_merge_struct(a.vm_mm, a.vm_start, a.vm_end, a.vm_flags, a.vm_pgoff,
                           middle=a, next=c, anon_vma=a.anon_vma)
    assert a.anon_vma is not c.anon_vma and not k.is_mergeable_anon_vma(vmg, True)
    # case 2: the target faulted, the new range unfaulted
    vmg = vma_merge_struct(a.vm_mm, b.vm_start, b.vm_end, b.vm_flags, b.vm_pgoff,
                           prev=a, anon_vma=None)
    assert k.is_mergeable_anon_vma(vmg, False)


def test_split_takes_the_original_object_for_the_range_and_clones_the_chain(machine):
    machine.do("P0 mmap 0 8\nP0 write 0")
    original = machine.vma("P0", 0)
    machine.do("P0 mprotect 2 2 r")
    assert machine.vma("P0", 2) is original          # vma_modify returns the original
    lower, upper = machine.vma("P0", 0), machine.vma("P0", 4)
    assert lower is not original and upper is not original
    assert lower.anon_vma is upper.anon_vma is original.anon_vma
    assert original.anon_vma.num_active_vmas == 3
    assert (lower.vm_pgoff, original.vm_pgoff, upper.vm_pgoff) == \
        (original.vm_pgoff - 2, lower.vm_pgoff + 2, lower.vm_pgoff + 4)


def test_split_refuses_past_max_map_count(machine):
    machine.do("P0 mmap 0 8")
    machine.kernel.sysctl_max_map_count = machine.task("P0").mm.map_count
    machine.do("P0 mprotect 2 2 r\nP0 madvise 2 2 dontfork\nP0 munmap 7 1\nP0 munmap 5 1")
    # mprotect ENOMEM, madvise turns it into EAGAIN; munmap checks only when one VMA
    # becomes three: at the edge it goes through, in the middle it fails
    assert machine.sink.others == ["P0 !mprotect ENOMEM", "P0 !madvise EAGAIN",
                                   "P0 !munmap ENOMEM"]
    assert machine.vma("P0", 7) is None


def test_mprotect_drops_vm_account_only_without_anon_vma(machine):
    machine.do("P0 mmap 0 4\nP0 mmap 8 4\nP0 write 8\nP0 mprotect 0 4 r\nP0 mprotect 8 4 r")
    assert not machine.vma("P0", 0).vm_flags & VM_ACCOUNT
    assert machine.vma("P0", 8).vm_flags & VM_ACCOUNT
    # and so a never-written r VMA and a written one stay apart even when adjacent
    machine.do("P0 mmap 4 4 r")
    assert machine.vma("P0", 0).vm_end == machine.vma("P0", 4).vm_end   # 0-8 merged
    assert machine.vma("P0", 4) is not machine.vma("P0", 8)


def test_copy_vma_keeps_a_faulted_pgoff_and_resets_an_unfaulted_one(machine):
    machine.do("P0 mmap 0 4\nP0 mmap 8 4\nP0 write 0\n"
               "P0 mremap 0 4 4 to 20\nP0 mremap 8 4 4 to 30")
    moved, fresh = machine.vma("P0", 20), machine.vma("P0", 30)
    assert moved.vm_pgoff == (0x200000000000 >> 12)          # the folio's index still fits
    assert fresh.vm_pgoff == fresh.vm_start >> 12
    assert machine.folio("P0", 20).index == moved.vm_pgoff


def test_dontunmap_of_a_whole_vma_unlinks_it_from_rmap(machine):
    machine.do("P0 mmap 0 4\nP0 write 0\nP0 mremap 0 4 4 to 10 dontunmap")
    old, new = machine.vma("P0", 0), machine.vma("P0", 10)
    assert old.anon_vma is None and not old.anon_vma_chain
    assert new.anon_vma is not None and machine.task("P0").mm.pgd.get((0x200000000000 >> 12)) is None


def test_dontfork_vma_is_not_copied_and_merges_back(machine):
    machine.do("P0 mmap 0 8\nP0 write 0\nP0 madvise 2 2 dontfork\nP0 fork P1")
    assert machine.vma("P0", 2).vm_flags & VM_DONTCOPY
    assert machine.vma("P1", 2) is None and machine.vma("P1", 0) is not None
    machine.do("P0 madvise 2 2 dofork")
    assert machine.vma("P0", 0).vm_end == machine.vma("P0", 7).vm_end     # one VMA again
