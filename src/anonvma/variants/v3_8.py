"""Linux 3.8 and 3.9: the anon_vma rwsem before and after writer lock-stealing.

3.8 is where 5a505085f043 (struct anon_vma::mutex becomes an rwsem) and
4fc3f1d66b1e (rmap walkers take it for read) landed; its rmap is 3.7's
interval tree without the 3.19 reuse counters and with 3.0's
``__put_anon_vma`` order (B5), which is what ``Linux_3_15`` models, so the
classes differ in their rw_semaphore only.  3.8's rwsem hands the lock to the first waiter in strict FIFO order
at up_write; ce6711f3d196 "rwsem: Implement writer lock-stealing for better
scalability" (3.9) lets a running writer take a released lock before the
woken waiter gets there (history.md §1.5).  The lock's correctness in the
model is the same either way (lock.py hands over FIFO); the difference is
timing, which ``rwsem_writer_lock_stealing`` tells the performance model.
Optimistic spinning on a running owner came with 4fc828e24cd9 in 3.16.
"""

from __future__ import annotations

from .v3_18 import Linux_3_15


class Linux_3_8(Linux_3_15):
    """Linux 3.8: anon_vma rwsem with strict FIFO write handoff."""

    name = "v3.8"
    description = "3.8: anon_vma rwsem (5a505085f043), strict FIFO handoff, no lock-stealing"
    rwsem_writer_lock_stealing = False
    rwsem_spin_on_owner = False


class Linux_3_9(Linux_3_8):
    """Linux 3.9: ce6711f3d196, a running writer may steal the rwsem."""

    name = "v3.9"
    description = "3.9: anon_vma rwsem with writer lock-stealing (ce6711f3d196)"
    rwsem_writer_lock_stealing = True
