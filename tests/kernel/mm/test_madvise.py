"""What the live kernel's traces cannot show of the newer madvise advice and
of UFFDIO_MOVE: page-level state, checked against mm/madvise.c,
mm/vmscan.c, mm/rmap.c and mm/userfaultfd.c of 6.18."""

from __future__ import annotations

from anonvma.checks.invariants import check_invariants

VPN0 = 0x200000000000 >> 12


def test_a_lazyfree_page_is_discarded_by_reclaim_without_swap(make_machine):
    """MADV_FREE clears the dirty bit and PG_swapbacked; try_to_unmap_one()
    then drops the clean page instead of swapping it (no swap here)."""
    m = make_machine()
    m.do("P0 mmap 0 4\nP0 write 0\nP0 write 1\nP0 madvise 0 2 free")
    assert not m.folio("P0", 0).swapbacked
    m.do("P0 write 1")          # written again: dirty, so it stays
    m.do("P0 madvise 0 2 pageout")
    assert m.folio("P0", 0) is None
    assert m.folio("P0", 1) is not None and m.folio("P0", 1).swapbacked
    assert check_invariants(m.kernel) == []


def test_free_leaves_a_page_shared_with_a_child(make_machine):
    """Only folios mapped once are marked lazyfree (folio_mapcount check)."""
    m = make_machine()
    m.do("P0 mmap 0 4\nP0 write 0\nP0 fork P1\nP0 madvise 0 1 free\nP0 madvise 0 1 pageout")
    assert m.folio("P0", 0) is m.folio("P1", 0) and m.folio("P0", 0).swapbacked


def test_cold_puts_the_folio_where_reclaim_looks_first(make_machine):
    m = make_machine()
    m.do("P0 mmap 0 4\nP0 write 0\nP0 write 1\nP0 madvise 1 1 cold")
    lru = list(m.kernel.lru)
    assert lru.index(m.folio("P0", 1)) < lru.index(m.folio("P0", 0))
    assert not m.task("P0").mm.pgd[VPN0 + 1].young


def test_guard_markers_survive_zap_and_go_with_munmap(make_machine):
    m = make_machine()
    m.do("P0 mmap 0 4\nP0 write 1\nP0 madvise 0 2 guard_install")
    pgd = m.task("P0").mm.pgd
    assert pgd[VPN0].marker and pgd[VPN0 + 1].marker      # the page was zapped
    m.do("P0 madvise 0 4 dontneed\nP0 fork P1")
    assert m.task("P1").mm.pgd[VPN0].marker              # copied by fork
    m.do("P0 munmap 0 1")
    assert VPN0 not in pgd and pgd[VPN0 + 1].marker
    assert check_invariants(m.kernel) == []


def test_uffd_move_retargets_the_folio(make_machine):
    """folio_move_anon_rmap() and the index at the destination: rmap finds
    the page in its new VMA, and the source's anon_vma no longer has it."""
    m = make_machine()
    m.do("P0 mmap 0 4\nP0 write 2\nP0 mmap 8 4\nP0 uffd_register 8 4")
    folio = m.folio("P0", 2)
    m.do("P0 uffd_move 2 1 9")
    dst = m.vma("P0", 9)
    assert m.folio("P0", 9) is folio and m.folio("P0", 2) is None
    assert folio.mapping is dst.anon_vma and folio.mapping is not m.vma("P0", 0).anon_vma
    assert folio.index == dst.vm_pgoff + 1
    assert check_invariants(m.kernel) == []
