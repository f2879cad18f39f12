"""The timing of the anon_vma root lock, per era: who waits how long, and
whether waiting burns a CPU.

The kernel model's locks decide correctness (one owner, a FIFO queue,
handoff at unlock: lock.py).  This layer listens to the same lock events
(``lock_acquire``, ``lock_release``) and, for the anon_vma lock class of the
era (``&anon_vma->lock``, ``->mutex``, ``->rwsem``), keeps the lock's state in
virtual time and decides when a task gets it.  A task this layer has not
granted the lock waits in the probe, before the model's own lock is even
tried, so the model's lock is free whenever this layer hands it over and
the model never queues on it.  Both probes first yield to every task with
an earlier clock, so the decisions happen in virtual-time order.

The semantics (``lock_semantics`` reads them off the era's class):

``ticket``  2.6.39's ticket spinlock: waiters spin (burning their CPU, in
            ``do_raw_spin_lock``) in FIFO order; each handoff costs a cache-line
            transfer that grows with the number of spinners re-reading the
            line (Boyd-Wickizer et al., "Non-scalable locks are dangerous").
``mutex``   3.0's mutex (kernel/mutex.c, kernel/sched.c:mutex_spin_on_owner):
            a waiter spins while the owner runs on a CPU and its own CPU
            has nothing else to run (need_resched), else sleeps on the wait
            list.  mutex_unlock() clears lock->owner first; with sleepers the
            count stays 0 until the unlocker holds ``wait_lock``
            (__mutex_unlock_common_slowpath), which it keeps across
            wake_up_process() of the first sleeper, so the next unlock waits
            for that wakeup.  While the owner is NULL and the count not 1,
            spinners and newcomers loop on cmpxchg in __mutex_lock_common.
            The released mutex goes to the spinner nearest the line (the
            latest comer among equals: no FIFO); every spinner that saw the
            owner NULL before the winner set it adds its cmpxchg to the
            herd and spins on; one that re-reads the line only after that
            sees the owner changed, "a sign for heavy contention", and
            sleeps.  Sleepers enter and retry under ``wait_lock``.
``spinlock-debug``  the ticket spinlock under CONFIG_DEBUG_SPINLOCK
            (lib/spinlock_debug.c): do_raw_spin_lock(), out of line, is
            arch_spin_trylock() and then __spin_lock_debug()'s loop of
            arch_spin_trylock() + __delay(1): a test-and-set lock.  Waiters
            spin (in ``do_raw_spin_lock``) re-reading the line; at a release
            the nearest wins after the cmpxchg of every spinner that saw the
            lock free by then, as the 3.0 mutex's spinners do; no FIFO.
``mutex-debug``  the 3.0 mutex under CONFIG_DEBUG_MUTEXES (kernel/mutex.c
            with mutex-debug.h and asm-generic/mutex-null.h; Kconfig.locks:
            MUTEX_SPIN_ON_OWNER is ``SMP && !DEBUG_MUTEXES``): no fast path and
            no optimistic spinning.  Every mutex_lock() takes ``wait_lock``
            (spin_lock_mutex(): irqs off, arch_spin_lock(), a FIFO ticket
            lock spun on inside ``__mutex_lock_common``), puts its waiter on
            the tail of the wait list and xchg()s the count to -1: a free
            mutex is its, else it drops wait_lock and sleeps, and retries
            under wait_lock when woken, still on the list.  Every
            mutex_unlock() is __mutex_unlock_common_slowpath(): under
            wait_lock the count becomes 1 and the first waiter is woken; a
            newcomer that takes wait_lock before the woken waiter gets the
            mutex, and the waiter sleeps again.
``rwsem-handoff``  3.8's rwsem: every waiter sleeps; up_write hands the lock
            to the first waiter, which owns it while it wakes up.
``rwsem-steal``  3.9's rwsem (ce6711f3d196): up_write wakes the first waiter,
            but a running writer takes the free lock first.
``rwsem-spin``  3.16+: lock-stealing and optimistic spinning on a running
            owner, as the mutex.

Every section pays ``critical_ns`` and the transfer of the line the
previous holder wrote.  On the eras with the interval tree (3.7 on:
bf181b9f9d8d) a section that inserts into or removes from the root's tree
also pays for every node of that tree it visited (the tree's own count,
``rb_root_cached.nr_visited``: an insert's descent, a remove's rotations
and augment updates) a transfer of the line the previous holder wrote,
as for the lock's own line: within the socket or a hop away; on one CPU
the nodes are in its own cache.
"""

from __future__ import annotations

from ..trace import kernel_stack
from ..trace_tokens import kernel_name

ANON_VMA_LOCK_CLASSES = ("&anon_vma->lock", "&anon_vma->mutex", "&anon_vma->rwsem")

# perf report's symbol for the CPU a waiter burns, per semantics
SPIN_SYMBOL = {"ticket": "do_raw_spin_lock", "spinlock-debug": "do_raw_spin_lock",
               "mutex": "__mutex_lock_common", "mutex-debug": "__mutex_lock_common",
               "rwsem-spin": "rwsem_optimistic_spin"}
SLEEP_SYMBOL = {"mutex": "__mutex_lock_common", "mutex-debug": "__mutex_lock_common",
                "rwsem-handoff": "rwsem_down_write_failed",
                "rwsem-steal": "rwsem_down_write_failed", "rwsem-spin": "rwsem_down_write_slowpath"}
# whose waiters spin with preemption off and never sleep
SPINLOCKS = ("ticket", "spinlock-debug")

# The callers perf's call graph shows for the lock functions: the first of
# these on the stack (the kernel inlines anon_vma_chain_link, anon_vma_lock
# and lock_anon_vma_root's callers' helpers).
CALLERS = ("anon_vma_clone", "unlink_anon_vmas", "anon_vma_fork", "anon_vma_free",
           "page_lock_anon_vma", "folio_lock_anon_vma_read", "anon_vma_prepare",
           "rmap_walk_anon", "vma_prepare", "vma_adjust", "move_vma", "dup_anon_vma")


def lock_semantics(kernel_class: type, debug_locks: bool = False) -> str:
    """The era's anon_vma lock; ``debug_locks``: built with
    CONFIG_DEBUG_SPINLOCK and CONFIG_DEBUG_MUTEXES (lib/Kconfig.debug's
    DEBUG_LOCK_ALLOC and PROVE_LOCKING select both), which change the
    spinlock's and the mutex's code, not the rwsem's."""
    kind = kernel_class.anon_vma_lock
    if kind == "spinlock":
        return "spinlock-debug" if debug_locks else "ticket"
    if kind == "mutex":
        return "mutex-debug" if debug_locks else "mutex"
    if getattr(kernel_class, "rwsem_spin_on_owner", True):
        return "rwsem-spin"
    return "rwsem-steal" if kernel_class.rwsem_writer_lock_stealing else "rwsem-handoff"


class waiter:
    __slots__ = ("task", "read", "since", "granted", "woken")

    def __init__(self, task, read, since):
        self.task = task
        self.read = read
        self.since = since
        self.granted = False        # the lock is the task's (handed over)
        self.woken = False          # woken to retry (stealing kernels)

    def __call__(self) -> bool:
        return self.granted or self.woken


class lock_stat:
    """One lock class's /proc/lock_stat counters (times in ns)."""

    def __init__(self, name: str):
        self.name = name
        self.contentions = 0
        self.con_bounces = 0
        self.acquisitions = 0
        self.acq_bounces = 0
        self.waits: list[float] = []
        self.holds: list[float] = []
        self.callers: dict[str, float] = {}     # caller -> ns in the lock functions


class lock_time:
    """One anon_vma root lock in virtual time."""

    __slots__ = ("owner", "readers", "spinners", "sleepers", "line_cpu", "holders",
                 "prev_cpu", "free_at", "wait_lock_free", "tree", "tree_visited")

    def __init__(self):
        self.owner = None
        self.readers: list = []
        self.spinners: list[waiter] = []
        self.sleepers: list[waiter] = []
        self.line_cpu = None            # the CPU whose cache holds the lock word
        self.holders: dict = {}         # task -> acquire time (hold times)
        self.prev_cpu = None            # the CPU of the last holder
        self.free_at = 0.0              # 3.0 mutex: the count is 1 again from then
        self.wait_lock_free = 0.0       # 3.0 mutex: when wait_lock is next free
        self.tree = None                # the root anon_vma's interval tree, if the era has one
        self.tree_visited = 0           # its nr_visited at the last release


class LockTiming:
    """Attach to a kernel running under ``VirtualTimeScheduler``."""

    def __init__(self, kernel, sched, semantics: str, debug_locks: bool = False):
        self.kernel = kernel
        self.sched = sched
        self.kind = semantics
        # CONFIG_DEBUG_SPINLOCK's checks in every other spinlock as well
        self.other_lock_ns = sched.costs["lock"]["fast_ns"] + (
            sched.costs["lock"]["debug_spinlock_ns"] if debug_locks else 0.0)
        self.costs = sched.costs["lock"]
        self.topo = sched.costs["topology"]
        # the eras whose root-lock sections walk an interval tree (3.7 on):
        # struct anon_vma's lock field, named as its kind (mutex, rwsem)
        self.tree_field = (type(kernel).anon_vma_lock
                           if type(kernel).rmap_layout == "interval_tree" else None)
        self.locks: dict = {}
        self.stat = lock_stat("")
        self.released_at: dict = {}     # other locks: when last released
        self.spins: dict = {}           # task -> spinlocks it holds or spins for
        self.slices: list = []          # (pid, start, end, what) for the trace
        trace = kernel.trace
        trace.lock_acquire.register(self.acquire)
        trace.lock_release.register(self.release)
        trace.lock_acquired.register(self._model_acquired)
        if self.costs["is_locked_in_virtual_time"]:
            trace.lock_is_locked.register(self.is_locked)
        sched.preempt_disabled = self.preempt_disabled
        sched.owner_sleeps = self.owner_sleeps
        sched.resched_curr = self.resched_curr

    def holds_lock(self, task) -> bool:
        return any(task in lt.holders for lt in self.locks.values())

    def preempt_disabled(self, task) -> bool:
        """spin_lock() disables preemption, from the spin on until the
        unlock (preempt_count); a mutex or rwsem holder may be preempted
        inside its section."""
        return self.spins.get(task, 0) > 0

    def owner_sleeps(self, task) -> None:
        """mutex_spin_on_owner()'s owner->on_cpu test: spinners on a lock
        whose owner leaves its CPU (sleeps, or is preempted) stop spinning,
        and sleep."""
        now = self.sched.clock[task]
        for lt in self.locks.values():
            if lt.owner is task and self.kind not in SPINLOCKS:
                for s in lt.spinners:
                    s.woken = True
                    self.sched.clock[s.task] = max(self.sched.clock[s.task], now)
                lt.spinners.clear()

    def resched_curr(self, task) -> None:
        """need_resched set on a spinner's CPU: mutex_spin_on_owner() and
        the rwsem's optimistic spin give up, and the task sleeps."""
        if self.kind in SPINLOCKS:
            return
        now = self.sched.clock[self.kernel.current] if self.kernel.current in self.sched.cpu_of \
            else self.sched.hub_clock
        for lt in self.locks.values():
            for s in lt.spinners:
                if s.task is task:
                    lt.spinners.remove(s)
                    s.woken = True
                    self.sched.clock[task] = max(self.sched.clock[task], now)
                    return

    # -- costs ------------------------------------------------------------------

    def transfer(self, from_cpu, to_cpu) -> float:
        """A cache line modified on ``from_cpu`` read on ``to_cpu``."""
        if from_cpu is None or from_cpu is to_cpu:
            return 0.0
        if from_cpu.socket == to_cpu.socket:
            return self.topo["line_transfer_local_ns"]
        return self.topo["line_transfer_remote_ns"]

    def _tree_of(self, lock):
        """The interval tree of the root anon_vma whose lock ``lock`` is
        (the anon_vma that embeds it; an anon_vma's tree and lock stay
        with its slab object), or None for a lock of no anon_vma."""
        field = self.tree_field
        for av in self.kernel.anon_vma_cachep.live:
            if getattr(av, field) is lock:
                return av.rb_root
        return None

    def _tree_ns(self, lt: lock_time, cpu) -> float:
        """The nodes of the root's interval tree the section visited, each a
        line the previous holder wrote (``transfer``)."""
        if lt.tree is None:
            return 0.0
        visited = lt.tree.nr_visited - lt.tree_visited
        lt.tree_visited = lt.tree.nr_visited
        return visited * self.transfer(lt.prev_cpu, cpu)

    # -- the probes -----------------------------------------------------------------

    def acquire(self, lock, subclass, trylock, read, ip) -> None:
        sched = self.sched
        task = self.kernel.current
        if lock.wait_type == 2:
            self.spins[task] = self.spins.get(task, 0) + 1
        if lock.key.name not in ANON_VMA_LOCK_CLASSES:
            sched.charge(task, self.other_lock_ns, "_raw_spin_lock")
            return
        lt = self.locks.get(lock)
        if lt is None:
            lt = self.locks[lock] = lock_time()
            self.stat.name = lock.key.name
            if self.tree_field is not None:
                lt.tree = self._tree_of(lock)
                lt.tree_visited = lt.tree.nr_visited if lt.tree is not None else 0
        if trylock:
            # Already taken in the model: a trylock never waits.  If this
            # layer has handed the lock to a waiter that has not reached the
            # model's lock yet, the trylock got in first: that waiter keeps
            # its turn here and waits in the model's lock for this holder.
            if lt.owner is not None and not read:
                lt.holders[task] = sched.clock[task]
                self.stat.acquisitions += 1
            else:
                self._take(lt, task, read)
            return
        sched.schedule()                # let every earlier task act first
        if self.kind == "mutex-debug":
            self._debug_mutex_lock(lock, lt, task, read)
            return
        # CONFIG_DEBUG_SPINLOCK: the whole lock, fast path and checks, is
        # the out-of-line do_raw_spin_lock()
        fast = "do_raw_spin_lock" if self.kind == "spinlock-debug" else "lock_fastpath"
        self._bounce(lt, task, fast)
        sched.charge(task, self.costs["fast_ns"], fast)
        if self.kind == "spinlock-debug":
            sched.charge(task, self.costs["debug_spinlock_ns"], fast)
        if self._can_take(lt, read):
            if sched.clock[task] < lt.free_at:
                # the unlocker has not set the count to 1 yet: the
                # optimistic spin loop's cmpxchg fails until it does
                sched.charge(task, lt.free_at - sched.clock[task], SPIN_SYMBOL["mutex"])
            self._take(lt, task, read)
            return
        self._contended(lock, lt, task, read)

    def release(self, lock, ip) -> None:
        sched = self.sched
        lt = self.locks.get(lock)
        task = self.kernel.current
        if lock.wait_type == 2:
            self.spins[task] = self.spins.get(task, 0) - 1
        if lt is None:
            if lock.key.name not in ANON_VMA_LOCK_CLASSES:
                self.released_at[lock] = sched.clock[task]
            return
        # The critical section's own work: list_add_tail/list_del on
        # anon_vma->head (the lock's cache line, already here) and on the
        # neighbouring anon_vma_chain, last written by the previous holder.
        cpu = sched.cpu_of[task]
        sched.charge(task, self.costs["critical_ns"] + self.transfer(lt.prev_cpu, cpu)
                     + self._tree_ns(lt, cpu), "anon_vma_chain_link")
        # CONFIG_PREEMPT: a wakeup during the section preempts the holder
        # here, before mutex_unlock(); the lock stays held while the task
        # waits for its CPU, and spinners see its owner off the CPU.
        if lock.wait_type != 2:
            sched.preempt_point()
        lt.prev_cpu = sched.cpu_of[task]
        sched.schedule()
        now = sched.clock[task]
        start = lt.holders.pop(task, now)
        self.stat.holds.append(now - start)
        self.slices.append((sched.cpu_of[task].cpu, task.pid, start, now, "hold"))
        if task in lt.readers:
            lt.readers.remove(task)
            if lt.readers:
                return
        elif lt.owner is task:
            lt.owner = None
        if self.kind == "ticket":
            self._ticket_release(lt, task, now)
        elif self.kind == "spinlock-debug":
            self._herd_grant(lt, task, now, now)
        elif self.kind == "mutex-debug":
            self._debug_mutex_unlock(lt, task)
        elif self.kind == "mutex":
            self._mutex_release(lt, task, now)
        elif self.kind == "rwsem-handoff":
            self._handoff_release(lt, task, now)
        else:
            self._steal_release(lt, task, now)

    def is_locked(self, lock) -> bool:
        """mutex_is_locked() / rwsem_is_locked() at the caller's time, after
        every task with an earlier clock has acted (3.0's anon_vma_free()
        asks right after the caller's own unlock of the root): held by a
        task this layer granted it to by then, or a 3.0 mutex whose
        unlocker has not set the count to 1 yet.  A grant decided for a
        later time (a spinner's cmpxchg after the line has come over) does
        not hold it yet."""
        lt = self.locks.get(lock)
        if lt is None:
            return False
        self.sched.schedule()
        now = self.sched.clock[self.kernel.current]
        return now < lt.free_at or any(since <= now for since in lt.holders.values())

    def _model_acquired(self, lock, ip) -> None:
        # A lock this layer does not time was contended in the model: the
        # waiter got it when its holder let go.
        if lock in self.released_at:
            clock = self.sched.clock
            task = self.kernel.current
            clock[task] = max(clock[task], self.released_at[lock])

    # -- state --------------------------------------------------------------------

    def _can_take(self, lt: lock_time, read) -> bool:
        if lt.owner is not None:
            return False
        if read:
            return not lt.sleepers and not lt.spinners
        return not lt.readers

    def _take(self, lt: lock_time, task, read) -> None:
        if read:
            lt.readers.append(task)
        else:
            lt.owner = task
        lt.holders[task] = self.sched.clock[task]
        self.stat.acquisitions += 1

    def _bounce(self, lt: lock_time, task, symbol: str, acquire: bool = True) -> None:
        """The lock's line moves to the task's CPU; lock_stat's acq-bounces
        counts it for an acquisition (``acquire``), not for an unlock."""
        cpu = self.sched.cpu_of[task]
        cost = self.transfer(lt.line_cpu, cpu)
        if cost:
            self.stat.acq_bounces += acquire
            self.sched.charge(task, cost, symbol)
        lt.line_cpu = cpu

    def _caller(self) -> str:
        for name in kernel_stack(3):
            name = kernel_name(name)
            if name in CALLERS or name.lstrip("_") in CALLERS:
                return name.lstrip("_") if name.lstrip("_") in CALLERS else name
        return "?"

    # -- waiting --------------------------------------------------------------------

    def _may_spin(self, lt: lock_time, task) -> bool:
        kind = self.kind
        if kind in SPINLOCKS:
            return True
        if kind not in ("mutex", "rwsem-spin"):
            return False
        sched = self.sched
        owner = lt.owner
        return owner is not None and sched.running(owner) and not sched.need_resched(task)

    def _contended(self, lock, lt: lock_time, task, read) -> None:
        sched = self.sched
        stat = self.stat
        stat.contentions += 1
        if lt.owner is not None and sched.cpu_of.get(lt.owner) is not None and \
                sched.cpu_of[lt.owner].socket != sched.cpu_of[task].socket:
            stat.con_bounces += 1
        caller = self._caller()
        arrived = sched.clock[task]
        burnt = 0.0
        burnt_spinning = True
        head = False                    # a woken mutex waiter keeps its place
        first = True                    # only a newcomer spins (a woken sleeper retries once)
        while True:
            w = waiter(task, read, sched.clock[task])
            if (first or self.kind in SPINLOCKS) and self._may_spin(lt, task):
                lt.spinners.append(w)
                sched.wait_for(lock, w, spin=True)
                spun = sched.clock[task] - w.since
                sched.cpu_time[SPIN_SYMBOL[self.kind]] += spun
                burnt += spun
            else:
                burnt_spinning = False
                sched.charge(task, self.costs["slowpath_ns"], SLEEP_SYMBOL[self.kind])
                burnt += self.costs["slowpath_ns"]
                if self.kind == "mutex":
                    # spin_lock_mutex(&lock->wait_lock), then
                    # atomic_xchg(&lock->count, -1): a free mutex is ours
                    burnt += self._wait_lock(lt, task)
                    if self._can_take(lt, read) and sched.clock[task] >= lt.free_at:
                        self._take(lt, task, read)
                        break
                lt.sleepers.insert(0, w) if head else lt.sleepers.append(w)
                sched.sleep(lock, w)
                head = w in lt.sleepers
                if head:
                    lt.sleepers.remove(w)
            first = False
            if w.granted:
                break
            if self._can_take(lt, read):
                self._take(lt, task, read)
                break
        stat.waits.append(sched.clock[task] - arrived)
        stat.callers[caller] = stat.callers.get(caller, 0.0) + burnt
        # a sleeper's wait is not on a CPU: the trace puts it on its task's track
        cpu = sched.cpu_of[task].cpu if burnt_spinning else None
        self.slices.append((cpu, task.pid, arrived, sched.clock[task], "wait"))

    def _grant(self, lt: lock_time, w: waiter, at: float) -> None:
        clock = self.sched.clock
        clock[w.task] = max(clock[w.task], at)
        w.granted = True
        self._take(lt, w.task, w.read)

    def _ticket_release(self, lt: lock_time, task, now: float) -> None:
        if not lt.spinners:
            return
        w = lt.spinners.pop(0)
        cpu = self.sched.cpu_of[w.task]
        bounce = self.transfer(self.sched.cpu_of[task], cpu) or self.topo["line_transfer_local_ns"]
        cost = bounce * (1.0 + self.costs["ticket_bounce_per_waiter"] * len(lt.spinners))
        lt.line_cpu = cpu
        self._grant(lt, w, now + cost)

    def _wait_lock(self, lt: lock_time, task, hold: float | None = None) -> float:
        """Take the 3.0 mutex's ``wait_lock`` (a ticket spinlock in the
        mutex's own line) for ``hold`` ns from the task's clock on; the ns
        spun for it, which perf counts in the spin_lock_mutex() caller."""
        sched = self.sched
        clock = sched.clock[task]
        start = max(clock, lt.wait_lock_free)
        if start > clock:
            sched.charge(task, start - clock, SPIN_SYMBOL["mutex"])
        lt.wait_lock_free = start + (self.costs["wait_lock_ns"] if hold is None else hold)
        return start - clock

    def _mutex_release(self, lt: lock_time, task, now: float) -> None:
        """3.0 mutex_unlock(): mutex_clear_owner(), the count's increment,
        and with sleepers __mutex_unlock_common_slowpath()."""
        sched = self.sched
        c = self.costs
        free_at = now
        head = lt.sleepers[0] if lt.sleepers else None
        if head is not None:
            # the count is 0 until the unlocker holds wait_lock and sets it
            # to 1; it keeps wait_lock across wake_up_process()
            wake = 0.0 if head.woken else c["wake_ns"]
            self._wait_lock(lt, task, c["wait_lock_ns"] + wake)
            free_at = sched.clock[task]
            sched.charge(task, c["wait_lock_ns"], "__mutex_unlock_slowpath")
            if wake:
                sched.charge(task, wake, "try_to_wake_up")
                head.woken = True
                sched.wake(head.task, sched.clock[task])
        lt.free_at = free_at
        self._rcu_kthread_wakes_spinners(lt, now)
        granted = self._herd_grant(lt, task, now, free_at)
        if granted is None:
            return
        # mutex_spin_on_owner(): a spinner that re-read lock->owner only
        # after the winner's mutex_set_owner() sees another owner, "a sign
        # for heavy contention", and goes to sleep
        at, reads = granted
        keep = []
        for s_ in lt.spinners:
            if reads[s_] < at:
                keep.append(s_)
            else:
                s_.woken = True
                sched.clock[s_.task] = max(sched.clock[s_.task], reads[s_])
        lt.spinners[:] = keep

    def _herd_grant(self, lt: lock_time, task, now: float, free_at: float):
        """A lock freed at ``now`` (takeable from ``free_at``) whose spinners
        re-read the line and cmpxchg when they see it free: the 3.0 mutex's
        spin loop, the debug spinlock's arch_spin_trylock() loop.  Grants it
        to the nearest spinner; returns the grant time and when each spinner
        left re-read the line, or None without spinners."""
        if not lt.spinners:
            return None
        sched = self.sched
        me = sched.cpu_of[task]
        local = self.topo["line_transfer_local_ns"]
        # The spinners re-read the line the unlock invalidated, each a line
        # transfer away, nearest first (the latest comer among equals).
        order = sorted(lt.spinners, key=lambda s: (self.transfer(me, sched.cpu_of[s.task]),
                                                   -s.since, s.task.pid))
        reads = {s_: now + (self.transfer(me, sched.cpu_of[s_.task]) or local) for s_ in order}
        w = order[0]
        start = max(free_at, reads[w])
        # the cmpxchg of every spinner that saw the lock free by then: each
        # takes the line exclusive in turn
        herd = sum(1 for s_ in order[1:] if reads[s_] < start)
        at = start + (self.transfer(me, sched.cpu_of[w.task]) or local) * (1 + herd)
        lt.spinners.remove(w)
        lt.line_cpu = sched.cpu_of[w.task]
        self._grant(lt, w, at)
        return at, reads

    # -- CONFIG_DEBUG_MUTEXES -------------------------------------------------------

    def _spin_lock_mutex(self, lt: lock_time, task, symbol: str, acquire: bool) -> None:
        """mutex-debug.h's spin_lock_mutex(): local_irq_save() and an
        inlined arch_spin_lock() of ``wait_lock``, a FIFO ticket lock in
        the mutex's cache line, spun on in ``symbol``; the holder then
        does its list work and debug checks (``wait_lock_ns``,
        ``debug_mutex_ns``).  The caller charges what else it does under
        wait_lock and lets go by setting ``wait_lock_free``; ``acquire``:
        a mutex_lock()'s first take, which lock_stat's acq-bounces counts."""
        sched = self.sched
        clock = sched.clock[task]
        if lt.wait_lock_free > clock:
            sched.charge(task, lt.wait_lock_free - clock, symbol)
            sched.clock[task] = max(sched.clock[task], lt.wait_lock_free)
        self._bounce(lt, task, symbol, acquire)
        sched.charge(task, self.costs["fast_ns"] + self.costs["wait_lock_ns"]
                     + self.costs["debug_mutex_ns"], symbol)

    def _debug_mutex_lock(self, lock, lt: lock_time, task, read) -> None:
        """__mutex_lock_common() under CONFIG_DEBUG_MUTEXES, for every
        mutex_lock(): all of its time is CPU in __mutex_lock_common but the
        sleeps, and perf's call graph gives it to the caller."""
        sched = self.sched
        stat = self.stat
        symbol = SLEEP_SYMBOL["mutex-debug"]
        caller = self._caller()
        arrived = sched.clock[task]
        burnt = 0.0
        w = None
        while True:
            t0 = sched.clock[task]
            self._spin_lock_mutex(lt, task, symbol, w is None)
            # atomic_xchg(&lock->count, -1) == 1: the mutex is ours
            took = self._can_take(lt, read)
            if took:
                if w is not None:
                    lt.sleepers.remove(w)       # mutex_remove_waiter()
                self._take(lt, task, read)
            elif w is None:
                # lock_contended(): on the tail of the wait list, where it
                # stays across its sleeps
                stat.contentions += 1
                if lt.owner is not None and sched.cpu_of.get(lt.owner) is not None and \
                        sched.cpu_of[lt.owner].socket != sched.cpu_of[task].socket:
                    stat.con_bounces += 1
                w = waiter(task, read, t0)
                lt.sleepers.append(w)
            lt.wait_lock_free = sched.clock[task]       # spin_unlock_mutex()
            if took:
                burnt += sched.clock[task] - t0
                break
            # __set_task_state(), schedule(): off the CPU until the unlock
            # that finds it first on the list wakes it
            sched.charge(task, self.costs["slowpath_ns"], symbol)
            burnt += sched.clock[task] - t0
            w.woken = False
            sched.sleep(lock, w)
            sched.schedule()            # retake wait_lock in virtual-time order
        stat.callers[caller] = stat.callers.get(caller, 0.0) + burnt
        if w is not None:
            stat.waits.append(sched.clock[task] - arrived)
            self.slices.append((None, task.pid, arrived, sched.clock[task], "wait"))

    def _debug_mutex_unlock(self, lt: lock_time, task) -> None:
        """__mutex_unlock_common_slowpath() under CONFIG_DEBUG_MUTEXES, for
        every mutex_unlock(): under wait_lock, debug_mutex_unlock(), the
        count set to 1 (__mutex_slowpath_needs_to_unlock()), and
        wake_up_process() of the first waiter on the list, unless it is
        awake already (woken by an earlier unlock, not yet back under
        wait_lock)."""
        sched = self.sched
        symbol = "__mutex_unlock_slowpath"
        self._spin_lock_mutex(lt, task, symbol, False)
        head = lt.sleepers[0] if lt.sleepers else None
        if head is not None and not head.woken:
            sched.charge(task, self.costs["wake_ns"], "try_to_wake_up")
            head.woken = True
            sched.wake(head.task, sched.clock[task])
        lt.wait_lock_free = sched.clock[task]

    def _rcu_kthread_wakes_spinners(self, lt: lock_time, now: float) -> None:
        """A spinner whose CPU's RCU kthread woke (``sched.rcu_kthread``)
        before this release had need_resched set from then: it left the spin
        loop at that wakeup, to sleep on the wait list and give its CPU to
        the kthread."""
        sched = self.sched
        if not sched.rcu_period:
            return
        keep = []
        for s in lt.spinners:
            wakeup = sched.cpu_of[s.task].rcu_next
            if wakeup <= now:
                s.woken = True
                sched.clock[s.task] = max(sched.clock[s.task], wakeup)
            else:
                keep.append(s)
        lt.spinners[:] = keep

    def _handoff_release(self, lt: lock_time, task, now: float) -> None:
        """rwsem_wake -> __rwsem_do_wake: the first waiter (or the readers
        at the head) own the lock from now, and run when they are woken."""
        sched = self.sched
        while lt.sleepers:
            w = lt.sleepers[0]
            if not w.read and lt.readers:
                break
            del lt.sleepers[0]
            sched.charge(task, self.costs["wake_ns"], "try_to_wake_up")
            w.granted = True
            self._take(lt, w.task, w.read)
            sched.wake(w.task, sched.clock[task])
            lt.holders[w.task] = sched.clock[w.task]
            if not w.read:
                break

    def _steal_release(self, lt: lock_time, task, now: float) -> None:
        sched = self.sched
        me = sched.cpu_of[task]
        if lt.spinners:
            # The spinner whose CPU sees the line first; among equals, the
            # latest to come (no FIFO among spinners).
            w = min(lt.spinners, key=lambda s: (self.transfer(me, sched.cpu_of[s.task]),
                                                -s.since, s.task.pid))
            lt.spinners.remove(w)
            lt.line_cpu = sched.cpu_of[w.task]
            bounce = self.transfer(me, sched.cpu_of[w.task])
            self._grant(lt, w, now + bounce)
        if lt.sleepers and not lt.sleepers[0].woken:
            w = lt.sleepers[0]
            sched.charge(task, self.costs["wake_ns"], "try_to_wake_up")
            w.woken = True
            sched.wake(w.task, sched.clock[task])
