"""Linux 3.8 and 3.9: the anon_vma rwsem before and after writer lock-stealing.

3.8 is 3.7 (``Linux_3_7``: the interval tree under the root mutex) plus
5a505085f043 "mm/rmap: Convert the struct anon_vma::mutex to an rwsem" and
4fc3f1d66b1e "mm/rmap, migration: Make rmap_walk_anon() and
try_to_unmap_anon() more scalable" (Ingo Molnar, December 2012): the root
lock becomes an rwsem and the rmap walks take it for read
(page_lock_anon_vma_read()).  That rwsem rmap is the one ``Linux_3_15``
models, so ``Linux_3_8`` takes its functions back from there, and
``anonvma diff v3.7 v3.8`` prints the conversion.  3.8's rwsem hands the
lock to the first waiter in strict FIFO order
at up_write; ce6711f3d196 "rwsem: Implement writer lock-stealing for better
scalability" (3.9) lets a running writer take a released lock before the
woken waiter gets there (history.md §1.5).  The lock's correctness in the
model is the same either way (lock.py hands over FIFO); the difference is
timing, which ``rwsem_writer_lock_stealing`` tells the performance model.
Optimistic spinning on a running owner came with 4fc828e24cd9 in 3.16.
"""

from __future__ import annotations

from .v3_7 import Linux_3_7
from .v3_18 import Linux_3_15


class Linux_3_8(Linux_3_7):
    """Linux 3.8: anon_vma rwsem with strict FIFO write handoff."""

    name = "v3.8"
    description = "3.8: anon_vma rwsem (5a505085f043), strict FIFO handoff, no lock-stealing"
    anon_vma_lock = "rwsem"
    rwsem_writer_lock_stealing = False
    rwsem_spin_on_owner = False

    # 5a505085f043: struct anon_vma's rwsem, down_write()/up_write() of the root
    anon_vma_init = Linux_3_15.anon_vma_init
    anon_vma_ctor = Linux_3_15.anon_vma_ctor
    anon_vma_lock_write = Linux_3_15.anon_vma_lock_write
    anon_vma_unlock_write = Linux_3_15.anon_vma_unlock_write
    lock_anon_vma_root = Linux_3_15.lock_anon_vma_root
    unlock_anon_vma_root = Linux_3_15.unlock_anon_vma_root
    anon_vma_free = Linux_3_15.anon_vma_free
    # 4fc3f1d66b1e: the walks take the root for read, in
    # page_lock_anon_vma_read() (the model's folio_lock_anon_vma_read), which
    # replaces page_lock_anon_vma()
    folio_lock_anon_vma_read = Linux_3_15.folio_lock_anon_vma_read
    anon_vma_unlock_read = Linux_3_15.anon_vma_unlock_read
    page_lock_anon_vma = None


class Linux_3_9(Linux_3_8):
    """Linux 3.9: ce6711f3d196, a running writer may steal the rwsem."""

    name = "v3.9"
    description = "3.9: anon_vma rwsem with writer lock-stealing (ce6711f3d196)"
    rwsem_writer_lock_stealing = True
