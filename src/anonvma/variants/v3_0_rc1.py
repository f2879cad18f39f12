"""Linux 3.0-rc1 and the clone-batching-only 3.0-rc2 of Tim Chen's table.

``Linux_3_0_rc1``: 2b575eb64f7a "mm: convert anon_vma->lock to a mutex",
the straight conversion alone.  Every anon_vma_chain still takes and drops
the root lock by itself, as in 2.6.39 (``anon_vma_chain_link`` and
``anon_vma_unlink`` per AVC), but the lock is now the root's mutex, and
``page_lock_anon_vma``/``anon_vma_free`` are 3.0's (trylock, then sleep; the
free waits for a trylocked walker).  This is "3.0-rc2 (vanilla, mutex)" in
Tim Chen's exim table (history.md §1.3).

``Linux_3_0_rc2_clone``: Linus's bb4aa39676f7 (lock_anon_vma_root() in
anon_vma_clone) on top, without Peter Zijlstra's two-pass unlink_anon_vmas:
"3.0-rc2 + linus v1/v2" in that table.  ``Linux_3_0_rc2`` then adds the
unlink batching, ``Linux_3_0`` the seed.
"""

from __future__ import annotations

from .v2_6_39 import Linux_2_6_39
from .v3_0 import Linux_3_0_rc2


class Linux_3_0_rc2_clone(Linux_3_0_rc2):
    """3.0-rc2 + bb4aa39676f7: anon_vma_clone batched, unlink per AVC."""

    name = "v3.0-rc2-clone"
    description = ("3.0-rc2 + Linus's anon_vma_clone batching (bb4aa39676f7) only: "
                   "unlink_anon_vmas still locks the root mutex per AVC")

    anon_vma_unlink = Linux_2_6_39.anon_vma_unlink
    unlink_anon_vmas = Linux_2_6_39.unlink_anon_vmas


class Linux_3_0_rc1(Linux_3_0_rc2_clone):
    """3.0-rc1: 2b575eb64f7a, the mutex, with 2.6.39's per-AVC locking."""

    name = "v3.0-rc1"
    description = ("3.0-rc1 (2b575eb64f7a): anon_vma->lock becomes a mutex, still "
                   "taken and dropped per anon_vma_chain")

    anon_vma_chain_link = Linux_2_6_39.anon_vma_chain_link
    anon_vma_clone = Linux_2_6_39.anon_vma_clone
    anon_vma_fork = Linux_2_6_39.anon_vma_fork
