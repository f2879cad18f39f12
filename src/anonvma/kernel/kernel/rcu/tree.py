"""kernel/rcu/tree.c and tree_plugin.h: preemptible RCU (CONFIG_PREEMPT_RCU,
what the live 6.18 and Hugh Dickins's 2.6.36 test box ran).

A read section is ``rcu_read_lock()`` ... ``rcu_read_unlock()``; they nest,
counted in ``task->rcu_read_lock_nesting``.  A grace period that starts at
some moment ends once every task that was inside a read section at that
moment has left that section; readers that enter later do not hold it up.
``synchronize_rcu()`` waits for one; ``call_rcu(head, func)`` runs
``func(head)`` after one.

Where the model departs from the kernel: there are no CPUs, so no quiescent
states to report and no grace-period kthread.  ``rcu_state.readers`` is
every task inside a read section with the number of its section (the
kernel keeps only the readers that were preempted, on ``blkd_tasks``; the
ones still running are waited for through their CPU's quiescent state,
which the model has no CPU for).  A grace period is the snapshot of that
table at its start.  Callbacks never run inside ``call_rcu()``; they run
(``rcu_core()``, the kernel's RCU softirq) in the task that ends their
grace period, at the last waited-for reader's outermost
``rcu_read_unlock()``, or, if nobody was reading, at the next quiescent
state of a task (``rcu_qs()``: its return to user space, its last context
switch at exit), outermost ``rcu_read_unlock()`` or ``rcu_barrier()``.  A
sequential run never has a reader besides the current task, so every grace
period is over at once and the bookkeeping is a counter and a dict entry
per outermost section.

Preemption inside a read section is allowed (PREEMPT_RCU); sleeping is
not, and neither is ``synchronize_rcu()`` from inside one.
"""

from __future__ import annotations


class rcu_state:
    """``struct rcu_state``: the readers now in a read section (task ->
    the number of its section) and the callbacks waiting for a grace
    period, oldest first, each with the readers it waits for."""

    __slots__ = ("readers", "nr_sections", "cblist")

    def __init__(self):
        self.readers: dict = {}
        self.nr_sections = 0
        self.cblist: list = []


def _gp_done(rsp: rcu_state, snap: dict) -> bool:
    """Has every reader of the snapshot left the section it was in?"""
    readers = rsp.readers
    return all(readers.get(t) != section for t, section in snap.items())


class Rcu:
    """RCU's entry points, mixed into the kernel."""

    __slots__ = ()          # a kernel object has no __dict__ (see anonvma.kernel)

    def rcu_init(self) -> None:
        self.rcu_state = rcu_state()

    # -- include/linux/rcupdate.h, kernel/rcu/tree_plugin.h ----------------------

    def rcu_read_lock(self) -> None:
        """``__rcu_read_lock()``: only the outermost section counts."""
        t = self.current
        if not t.rcu_read_lock_nesting:
            rsp = self.rcu_state
            rsp.nr_sections += 1
            rsp.readers[t] = rsp.nr_sections
        t.rcu_read_lock_nesting += 1

    def rcu_read_unlock(self) -> None:
        """``__rcu_read_unlock()``: leaving the outermost section may end
        grace periods (``rcu_read_unlock_special()``)."""
        t = self.current
        t.rcu_read_lock_nesting -= 1
        if not t.rcu_read_lock_nesting:
            rsp = self.rcu_state
            del rsp.readers[t]
            if rsp.cblist:
                self.rcu_core()

    def rcu_read_lock_held(self) -> bool:
        return self.current.rcu_read_lock_nesting > 0

    # -- kernel/rcu/tree.c -------------------------------------------------------------

    def rcu_qs(self) -> None:
        """The current task passes a quiescent state outside any read
        section: a context switch (``__schedule()`` ->
        ``rcu_note_context_switch()``) or user mode (the next tick's
        ``rcu_sched_clock_irq(user)``).  The kernel's softirq then invokes
        the callbacks of the grace periods that ended; without one here, a
        run that takes no ``rcu_read_lock()`` (fork and exit do not) would
        keep every callback, and every slab page waiting in one, for good."""
        if self.rcu_state.cblist:
            self.rcu_core()

    def synchronize_rcu(self) -> None:
        """Wait for a grace period: for every reader now in a section to
        leave it."""
        if self.current.rcu_read_lock_nesting:
            # RCU_LOCKDEP_WARN() in synchronize_rcu(); waiting here would
            # wait for ourselves
            self.WARN_ON_ONCE("Illegal synchronize_rcu() in RCU read-side critical section")
            return
        self.might_sleep()
        rsp = self.rcu_state
        if rsp.readers:
            snap = dict(rsp.readers)
            self.sched.wait_for(rsp, lambda: _gp_done(rsp, snap))

    def call_rcu(self, head, func) -> None:
        """Run ``func(head)`` once every reader now in a section has left
        it: the free of memory readers may still be looking at."""
        rsp = self.rcu_state
        rsp.cblist.append((dict(rsp.readers), head, func))

    def rcu_barrier(self) -> None:
        """Wait until every callback queued so far has been invoked: a
        grace period covers every reader any of them still waits for."""
        self.synchronize_rcu()
        self.rcu_core()

    def rcu_core(self) -> None:
        """The RCU softirq: invoke the callbacks whose grace period is over.
        Grace periods end in the order they began (a later one waits for
        every reader an earlier one still waits for), so the done ones are
        a prefix of the list."""
        rsp = self.rcu_state
        cblist = rsp.cblist
        while cblist and _gp_done(rsp, cblist[0][0]):
            _snap, head, func = cblist.pop(0)
            func(head)
