"""Deliberately broken eras that the checkers must catch."""

from anonvma.kernel import Linux


class LeakyUnlink(Linux):
    """6.18 that never unlinks a VMA's chain."""
    name = "test-leaky-unlink"

    def unlink_anon_vmas(self, vma):
        pass


class LeakyFork(Linux):
    """Counts the child's VMA twice in num_active_vmas."""
    name = "test-leaky-fork"

    def anon_vma_fork(self, vma, pvma):
        err = super().anon_vma_fork(vma, pvma)
        if not err and vma.anon_vma is not None:
            vma.anon_vma.num_active_vmas += 1
        return err
