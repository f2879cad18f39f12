"""lockdep as it was from 2.6.30 to 4.13: reclaim is an IRQ-like usage state.

Before d92a8cfcb37e ("locking/lockdep: Rework FS_RECLAIM annotation", 4.14)
there was no ``fs_reclaim`` pseudo-lock.  The allocators called
``lockdep_trace_alloc(gfp)``, which marked every lock the task held
RECLAIM_FS-ON ("held while an allocation may recurse into fs reclaim"), and
reclaim (direct reclaim, kswapd) set ``current->lockdep_reclaim_gfp`` with
``lockdep_set_current_reclaim_state()``, under which every non-trylock
acquisition marked the class IN-RECLAIM_FS.  A class with both is an
"inconsistent lock state", printed with the IRQ template in which the
"interrupt" is reclaim: the report Hugh Dickins got for 3.0-rc3's
anon_vma_clone on 2011-06-17 (history.md §1.4).

The kernel called those two hooks directly; in the model they are the
tracepoints ``lockdep_trace_alloc`` and ``lockdep_reclaim_state``, fired by
the eras that had them (``variants.v3_0``), so that the checker stays
outside the kernel.  GFP bits are read in that era's numbering.
"""

from __future__ import annotations

from ..kernel.kernel.locking.lockdep import Lockdep, held_lock, held_locks, save_trace
from ..kernel.kernel.sched.core import PF_MEMALLOC
from .v3_0 import _GFP_FS, _GFP_NOMEMALLOC, _GFP_WAIT

LOCK_USED_IN_RECLAIM_FS = 1 << 2
LOCK_USED_IN_RECLAIM_FS_READ = 1 << 3
LOCK_ENABLED_RECLAIM_FS = 1 << 4
LOCK_ENABLED_RECLAIM_FS_READ = 1 << 5

USAGE_STR = {
    LOCK_USED_IN_RECLAIM_FS: "IN-RECLAIM_FS-W",
    LOCK_USED_IN_RECLAIM_FS_READ: "IN-RECLAIM_FS-R",
    LOCK_ENABLED_RECLAIM_FS: "RECLAIM_FS-ON-W",
    LOCK_ENABLED_RECLAIM_FS_READ: "RECLAIM_FS-ON-R",
}
# mark_lock_irq()'s valid_state() checks: new bit -> the bits it conflicts
# with (the exclusive bit, and its read variant for a write usage).
USAGE_CONFLICTS = {
    LOCK_USED_IN_RECLAIM_FS: (LOCK_ENABLED_RECLAIM_FS, LOCK_ENABLED_RECLAIM_FS_READ),
    LOCK_USED_IN_RECLAIM_FS_READ: (LOCK_ENABLED_RECLAIM_FS,),
    LOCK_ENABLED_RECLAIM_FS: (LOCK_USED_IN_RECLAIM_FS, LOCK_USED_IN_RECLAIM_FS_READ),
    LOCK_ENABLED_RECLAIM_FS_READ: (LOCK_USED_IN_RECLAIM_FS,),
}


def _usage_char(mask: int, used_in: int, enabled: int) -> str:
    # get_usage_char(): '+' enabled, '-' used in, '?' both, '.' neither
    if mask & used_in:
        return "?" if mask & enabled else "-"
    return "+" if mask & enabled else "."


class LockdepReclaimFs(Lockdep):
    """lockdep with the RECLAIM_FS usage state, and the 2011 report format
    ("[ INFO: ... ]" headers, no wait types)."""

    # 3.0's print_kernel_version(): the release and the version only
    ident_tail = "(anonvma model)"
    irq_usage = True

    def __init__(self, kernel):
        super().__init__(kernel)
        # current->lockdep_reclaim_gfp, per task
        self.reclaim_gfp: dict = {}
        kernel.trace.lockdep_trace_alloc.register(self.lockdep_trace_alloc)
        kernel.trace.lockdep_reclaim_state.register(self.lockdep_reclaim_state)

    # -- the two hooks ----------------------------------------------------------

    def lockdep_trace_alloc(self, gfp_mask: int) -> None:
        """An allocation that may recurse into fs reclaim marks every held
        lock RECLAIM_FS-ON (``mark_held_locks``)."""
        curr = self.kernel.current
        if not gfp_mask & _GFP_WAIT:
            return          # no reclaim without waiting on it
        if curr.flags & PF_MEMALLOC and not gfp_mask & _GFP_NOMEMALLOC:
            return          # this guy won't enter reclaim
        if not gfp_mask & _GFP_FS:
            return          # only __GFP_FS allocations for now
        for hlock in held_locks(curr):
            self.mark_lock(curr, hlock,
                           LOCK_ENABLED_RECLAIM_FS_READ if hlock.read else LOCK_ENABLED_RECLAIM_FS)

    def lockdep_reclaim_state(self, gfp_mask: int) -> None:
        """lockdep_set_current_reclaim_state(gfp), or with 0
        lockdep_clear_current_reclaim_state()."""
        curr = self.kernel.current
        if gfp_mask:
            self.reclaim_gfp[curr] = gfp_mask
        else:
            self.reclaim_gfp.pop(curr, None)

    # -- usage states -------------------------------------------------------------

    def mark_irqflags(self, curr, hlock: held_lock) -> None:
        """A lock taken, not trylocked, inside fs reclaim."""
        if not hlock.trylock and self.reclaim_gfp.get(curr, 0) & _GFP_FS:
            self.mark_lock(curr, hlock,
                           LOCK_USED_IN_RECLAIM_FS_READ if hlock.read else LOCK_USED_IN_RECLAIM_FS)

    def mark_lock(self, curr, hlock: held_lock, new_bit: int) -> None:
        cls = hlock.cls
        if cls.usage_mask & new_bit:
            return
        self._mark_usage(cls, new_bit, save_trace())
        for bad in USAGE_CONFLICTS[new_bit]:
            if cls.usage_mask & bad:
                self.print_usage_bug(curr, hlock, bad, new_bit)
                return

    # -- the 2011 report format -------------------------------------------------------

    def usage_chars(self, cls) -> str:
        m = cls.usage_mask
        return (super().usage_chars(cls)
                + _usage_char(m, LOCK_USED_IN_RECLAIM_FS, LOCK_ENABLED_RECLAIM_FS)
                + _usage_char(m, LOCK_USED_IN_RECLAIM_FS_READ, LOCK_ENABLED_RECLAIM_FS_READ))

    def format_lock_class(self, cls) -> str:
        # 2011 lockdep had no wait types
        return f"({cls.name}){{{self.usage_chars(cls)}}}"

    def _banner(self, title: str, old_kind: str = "INFO") -> list[str]:
        head = f"[ {old_kind}: {title} ]"
        return ["", "=" * len(head), head, self.ident, "-" * len(head)]

    def print_usage_bug(self, curr, this: held_lock, prev_bit: int, new_bit: int) -> None:
        cls = this.cls
        lines = self._banner("inconsistent lock state")
        lines += [f"inconsistent {{{USAGE_STR[prev_bit]}}} -> {{{USAGE_STR[new_bit]}}} usage.",
                  f"{curr.comm}/{curr.pid} [HC0[0]:SC0[0]:HE1:SE1] takes:",
                  f" {self.format_held_lock(this)}",
                  f"{{{USAGE_STR[prev_bit]}}} state was registered at:"]
        lines += self._trace(cls.usage_traces.get(prev_bit, []))
        lines += ["", "other info that might help us debug this:",
                  " Possible unsafe locking scenario:", "",
                  "       CPU0", "       ----",
                  f"  lock({cls.name});", "  <Interrupt>", f"    lock({cls.name});", "",
                  " *** DEADLOCK ***", ""]
        lines += self._held_locks(curr)
        lines += ["", "stack backtrace:"] + self._trace(save_trace())
        self._report(("usage", cls, frozenset((prev_bit, new_bit))), lines)

