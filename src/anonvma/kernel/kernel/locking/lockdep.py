"""kernel/locking/lockdep.c: the runtime locking correctness validator.

lockdep is a checker: it subscribes to the ``lock_acquire``/``lock_release``
tracepoints and never changes what the model does.  It follows the kernel's
design (Documentation/locking/lockdep-design.rst):

- Locks are grouped into *classes* by their ``lock_class_key``: every
  ``anon_vma->rwsem`` is one class.  ``subclass`` (``down_write_nested``)
  makes a separate class, printed ``name/N``.
- Each task keeps its stack of held locks (``task.held_locks``, slots used
  up to ``task.lockdep_depth``) and the *chain* that stack makes
  (``task.curr_chain_key``, a ``lock_chain``).  A held-lock stack whose
  chain was seen before has been validated already and costs one dict
  lookup: the lock fills a slot, nothing is allocated and no stack is
  walked.  Only new
  chains are validated, and only a new dependency or a new usage bit saves
  a stack trace (``save_trace``, from check_prev_add and mark_lock).  The
  one frame looked at per acquisition is the caller's (``_RET_IP_``, the
  lock functions' ``_getframe(depth).f_code``), which held-lock lines print
  after "at:".
- Validating a chain: recursive locking within the stack
  (``check_deadlock``), then a dependency prev -> next from the held locks
  down to and including the first non-trylock one (``check_prevs_add``),
  each proved not to close a cycle by a breadth-first search from next back
  to prev (``check_noncircular``).  Trylocks are pushed and hashed but add
  no dependencies of their own: "trylock can be done in any order".
- Dependencies are typed by the read state of both ends, -(ER)->, -(EN)->,
  -(SR)->, -(SN)-> (E exclusive/S shared prev; R recursive-read/N other
  next), and only *strong* paths count: a -(xR)-> step may not be followed
  by a -(Sx)-> step.  So rwsem readers (non-recursive, read=1) deadlock
  against writers as in the kernel, and recursive readers (read=2) do not.
- Reclaim: since 4.14 the kernel treats reclaim as a lock, ``fs_reclaim``,
  taken around every allocation that may enter fs reclaim (``might_alloc``)
  and held by reclaim itself; "L held over GFP_KERNEL" plus "L taken in
  reclaim" is then an ordinary circular dependency.  The allocator reaches
  lockdep the kernel's way, through ``lock_map_acquire(&__fs_reclaim_map)``,
  i.e. the ``lock_acquire`` tracepoint (mm/page_alloc.py).  The 2009-2017
  flavour, where reclaim was an IRQ-like usage state (RECLAIM_FS), belongs to
  the eras that had it: ``anonvma.variants.lockdep_reclaim_fs``.

Where the model departs from the kernel:
- The kernel's chain key is a 64-bit hash of the held locks' ids, mixed in
  one id at a time (iterate_chain_key), and the chain cache a hash table of
  those keys.  In Python each step of such a mix would allocate an int, so
  the model keeps the chains themselves: a trie whose root is the empty
  stack (``Lockdep.chains``) and whose node for a stack maps the id of the
  lock taken next to the node of the stack one deeper.  A chain key is a
  node; two stacks share one exactly when the kernel's keys are equal
  short of a hash collision, so the cache says "seen" for the same stacks.
- The kernel stops validating after its first report (``debug_locks_off``);
  the model keeps going and reports each distinct problem once (a cycle by
  its set of classes, recursion and usage conflicts by class).  The edge
  whose check failed is still recorded: that order did happen.
- The BFS remembers a class as visited per arrival kind (after an -(xR)->
  step or not) where the kernel marks the class visited once; the kernel's
  shortcut can miss a strong path that reaches a class second by a
  -(xN)-> step.  No ``check_redundant`` pruning, so the graph may hold
  edges implied by longer paths; reports are unaffected.
- No IRQ contexts: every acquisition is in process context with interrupts
  enabled, so the hardirq/softirq usage columns print '+' (used) or '.'.
- Stack traces are the model's Python function names; addresses and
  offsets are left out.
- Every run of an exploration is a boot of its own, so nothing one run
  learnt may show in another's reports.  What is reused is what provably
  changes none: the class registry, chain cache and graph of a scenario's
  prefix, shared by every machine restored from its snapshot (``share``),
  and the cycle searches other runs proved empty (``validated_chains``).
"""

from __future__ import annotations

import itertools
import os
import sys
import weakref
from collections import deque

from .... import trace as _trace_mod
from . import lock as _lock_mod, mutex as _mutex_mod, rwsem as _rwsem_mod, spinlock as _spin_mod
from .lock import lock_class_key

# lock_list.dep bits: bit0 "prev->read == 0", bit1 "next->read != 2".
DEP_SR = 1 << 0
DEP_ER = 1 << 1
DEP_SN = 1 << 2
DEP_EN = 1 << 3
DEP_S_MASK = DEP_SR | DEP_SN
DEP_N_MASK = DEP_SN | DEP_EN

# Usage bits.  ENABLED_IRQ: acquired in process context with irqs on, the
# only context the model has (the '+' of "{+.+.}").
LOCK_USED = 1 << 0
LOCK_USED_READ = 1 << 1

MAX_TRACE = 24


class lockdep_map:
    """A lockdep-only "lock" with no lock behind it, like ``fs_reclaim``
    (``STATIC_LOCKDEP_MAP_INIT``); wait type 0 prints as ``{0:0}``."""

    __slots__ = ("key", "name")
    wait_type = 0

    def __init__(self, name: str):
        self.key = lock_class_key(name)
        self.name = name

    def __repr__(self) -> str:
        return f"<lockdep_map {self.name}>"


# hlock_id(): a held lock's class index, its read state above the index bits
MAX_LOCKDEP_KEYS_BITS = 13


class lock_class:
    __slots__ = ("idx", "key", "subclass", "name", "wait_type", "usage_mask",
                 "usage_traces", "locks_after", "locks_before", "hlock_ids")

    def __init__(self, idx: int, key, subclass: int, name: str, wait_type: int):
        self.idx = idx
        # hlock_id() for read = 0, 1, 2, made once: the hit path looks one
        # up by the read state and computes (allocates) no int
        self.hlock_ids = tuple(idx | read << MAX_LOCKDEP_KEYS_BITS for read in range(3))
        self.key = key
        self.subclass = subclass
        self.name = name
        self.wait_type = wait_type
        self.usage_mask = 0
        self.usage_traces: dict[int, list[str]] = {}
        # Dependencies: class -> lock_list, both directions.
        self.locks_after: dict[lock_class, lock_list] = {}
        self.locks_before: dict[lock_class, lock_list] = {}

    def __repr__(self) -> str:
        return f"<lock_class {self.name}>"


class lock_list:
    """One dependency edge, kept in the ``locks_after`` of its source class:
    ``cls`` is the target, ``trace`` where it was first taken under the
    source, ``dep`` the union of the DEP_* kinds seen."""

    __slots__ = ("cls", "dep", "distance", "trace")

    def __init__(self, cls: lock_class, dep: int, distance: int, trace: list[str]):
        self.cls = cls
        self.dep = dep
        self.distance = distance
        self.trace = trace


class lock_chain(dict):
    """A held-lock stack lockdep has seen (the kernel's chain key): maps the
    ``hlock_id`` of a lock taken on top of it to the chain one deeper.
    ``cached``: it is in the chain cache, i.e. was validated
    (lookup_chain_cache_add); a chain reached only by a trylock on top is
    known, as its key is in the kernel, but not cached."""

    __slots__ = ("cached",)

    def __init__(self, cached: bool):
        super().__init__()
        self.cached = cached


def lock_chains(root: lock_chain) -> list[tuple]:
    """The cached chains below ``root`` (/proc/lockdep_chains), each as the
    hlock ids of its locks, outermost first."""
    found, todo = [], [((), root)]
    while todo:
        ids, chain = todo.pop()
        if chain.cached:
            found.append(ids)
        todo += ((ids + (hid,), deeper) for hid, deeper in chain.items())
    return sorted(found)


class held_lock:
    """One slot of the task's held-lock stack.  As in the kernel, where
    ``task->held_locks[MAX_LOCK_DEPTH]`` is an array inside task_struct
    filled up to ``task->lockdep_depth``, taking a lock fills the next slot
    and allocates nothing; a task grows its array by a slot the first time
    it holds that many locks.  Releasing clears what a free slot refers to
    (the lock, the acquiring function), so that a task holding no lock
    pickles with the prefix snapshot."""

    __slots__ = ("cls", "instance", "read", "trylock", "acquire_ip", "prev_chain_key")

    def __init__(self):
        self.cls = None
        self.instance = None
        self.read = 0
        self.trylock = 0
        self.acquire_ip = None      # the code object of the acquiring function
        self.prev_chain_key = None  # the chain of the locks below (a lock_chain)


def held_locks(curr) -> list[held_lock]:
    """The locks ``curr`` holds, outermost first (its slots below
    ``lockdep_depth``)."""
    return curr.held_locks[:curr.lockdep_depth]


def dep_kind(prev: held_lock, next: held_lock) -> int:
    """The DEP_* kind of the dependency prev -> next."""
    return 1 << ((prev.read == 0) + 2 * (next.read != 2))


class validated_chains:
    """What the runs of one process learnt validating chains, kept so that a
    later run (a separate boot, with a graph of its own) skips the searches
    of a validation that provably find nothing.

    Every run of an exploration boots its own lockdep: a dependency run 1
    recorded is not in run 2's graph, and run 2 must report exactly what it
    would alone.  So run 2 validates every chain new to *it* (its chain
    cache decides when validation runs, which decides its reports), records
    every dependency and DEP_* kind it adds, saving their traces, as it
    would alone; what it may skip is the breadth-first search for a cycle
    (check_noncircular), when that search is known to find nothing:

    - ``graph`` is the union of the dependency graphs of every lockdep that
      uses this object, from its empty start: each dependency, and each
      DEP_* kind added to one, is added here too (``add_dep``), classes told
      by name.  A run's graph maps into it (classes to their names, edges to
      edges with at least their kinds), so a strong path in the run maps to
      a strong path here: a search that finds no path here finds none in
      any run.  ``generation`` counts the changes of the union.
    - After a chain's validation, its searches are done again in the union
      (``learn``); if none finds a path, the chain (the class and read state
      of the lock taken, and of the held locks check_prevs_add looks at,
      with their trylock flags) is recorded with the generation.
    - A later validation of the same chain, in any run, skips each search
      while the union is still at that generation: the search would find no
      path in that run's graph, so check_prev_add would report nothing.

    Recursion (check_deadlock) is checked by class identity every time, and
    lock classes are not shared: a run's classes carry its usage bits and
    dependency traces, which its reports print; the classes and chains of a
    scenario's prefix come with the prefix snapshot (explore.prefix).
    Reports are byte-identical with and without this
    (tests/kernel/kernel/test_lockdep_reuse.py).
    """

    __slots__ = ("graph", "generation", "chains", "serial", "__weakref__")
    MAX_CHAINS = 1 << 16        # past that, start over (bounded memory)

    def __init__(self):
        self.graph: dict[str, lock_class] = {}
        self.generation = 0
        self.chains: dict[tuple, int] = {}
        self.serial = next(_serials)
        _live_chains[self.serial] = self

    def node(self, name: str) -> lock_class:
        cls = self.graph.get(name)
        if cls is None:
            cls = self.graph[name] = lock_class(len(self.graph), None, 0, name, 0)
        return cls

    def add_dep(self, prev: lock_class, next: lock_class, dep: int) -> None:
        p, n = self.node(prev.name), self.node(next.name)
        entry = p.locks_after.get(n)
        if entry is None:
            p.locks_after[n] = lock_list(n, dep, 0, [])
        elif entry.dep & dep == dep:
            return
        else:
            entry.dep |= dep
        self.generation += 1

    @staticmethod
    def signature(curr, next: held_lock) -> tuple:
        held = curr.held_locks
        prevs = []
        for depth in range(curr.lockdep_depth - 1, -1, -1):
            prev = held[depth]
            prevs.append((prev.cls.name, prev.read, prev.trylock))
            if not prev.trylock:
                break
        return next.cls.name, next.read, tuple(prevs)

    def acyclic(self, key: tuple) -> bool:
        """Is the chain known to close no cycle in the union as it is now?"""
        return self.chains.get(key) == self.generation

    def learn(self, key: tuple, curr, next: held_lock) -> None:
        """After check_prevs_add: record the chain if no search of it finds
        a path in the union (which holds this run's graph)."""
        held = curr.held_locks
        src, recursive = self.node(next.cls.name), next.read == 2
        for depth in range(curr.lockdep_depth - 1, -1, -1):
            prev = held[depth]
            if find_strong_path(src, recursive, self.node(prev.cls.name), prev.read) is not None:
                return
            if not prev.trylock:
                break
        if len(self.chains) >= self.MAX_CHAINS:
            self.chains.clear()
        self.chains[key] = self.generation

    def __reduce__(self):
        # pickled with a machine (the prefix snapshot): the same object when
        # restored in this process, nothing elsewhere (its union would not
        # hold the restored graph)
        return _validated_chains, (os.getpid(), self.serial)


_serials = itertools.count(1)
_live_chains: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _validated_chains(pid: int, serial: int):
    return _live_chains.get(serial) if pid == os.getpid() else None


# The one every lockdep of this process shares (``Lockdep.chain_history``).
VALIDATED_CHAINS = validated_chains()


# Frames of lockdep and the tracepoint plumbing: never part of a trace.
_LOCKDEP_FILES = frozenset((_lock_mod.__file__, _trace_mod.__file__, __file__))
# ... and of the lock functions: skipped too when looking for the caller.
_LOCKING_FILES = _LOCKDEP_FILES | {_mutex_mod.__file__, _rwsem_mod.__file__, _spin_mod.__file__}

# Where a kernel stack trace ends: at the entry from user space (a syscall,
# the page fault) or a kernel thread's function, as the kernel's traces end
# at entry_SYSCALL_64 or ret_from_fork, or at the softirq that runs RCU
# callbacks (rcu_core), as they end at the interrupt's entry.  Whatever
# called them is user space.  The model calls some syscalls' bodies
# directly: execve's do_execve(), prctl(PR_SET_VMA)'s prctl_set_vma(), the
# UFFDIO_REGISTER and UFFDIO_MOVE ioctls' userfaultfd_register() and
# userfaultfd_move().
KERNEL_ENTRY_POINTS = frozenset({
    "handle_user_access", "kernel_clone", "do_group_exit", "bprm_mm_init", "do_execve",
    "prctl_set_vma", "userfaultfd_register", "userfaultfd_move", "proc_pid_maps", "kswapd",
    "rcu_core",
})


def find_strong_path(src: lock_class, src_recursive: bool, tcls: lock_class, tread: int):
    """BFS from ``src`` along ``locks_after`` for a strong path to ``tcls``
    (taken with read state ``tread``).  Returns the path as [(class,
    lock_list or None), ...] from src to tcls, or None.  A state is (class,
    only_xr): whether every way we arrived by was a -(xR)-> step, after
    which -(Sx)-> steps do not count.  The search is exact reachability over
    those states, so a path found in a graph is found in any graph that has
    its edges with at least their DEP_* kinds (``validated_chains``)."""
    root = (src, src_recursive)
    parent: dict = {root: None}
    queue = deque((root,))
    while queue:
        state = queue.popleft()
        cls, only_xr = state
        # hlock_conflict(): found if target -> src is -(E*)-> or the
        # path arrived by an -(*N)-> step.
        if cls is tcls and (tread == 0 or not only_xr):
            path = []
            while state is not None:
                p = parent[state]
                path.append((state[0], p[1] if p else None))
                state = p[0] if p else None
            path.reverse()
            return path
        for nxt, entry in cls.locks_after.items():
            dep = entry.dep
            if only_xr:
                dep &= ~DEP_S_MASK
                if not dep:
                    continue
            nxr = not dep & DEP_N_MASK
            s = (nxt, nxr)
            if s in parent or (nxr and (nxt, False) in parent):
                continue
            parent[s] = (state, entry)
            queue.append(s)
    return None


def kernel_entry(code) -> bool:
    name = code.co_name
    return name.startswith("sys_") or name in KERNEL_ENTRY_POINTS


def stack_from(f, limit: int = MAX_TRACE) -> list[str]:
    """Function names from frame ``f`` outwards, innermost first, up to and
    including the kernel entry point (or the bottom of the task's stack)."""
    names = []
    while f is not None and len(names) < limit:
        code = f.f_code
        if code.co_name == "ret_from_fork":
            break           # the bottom of a task started by a scheduler
        names.append(code.co_name)
        if kernel_entry(code):
            break
        f = f.f_back
    return names


def save_trace() -> list[str]:
    """The current stack, innermost first, from the lock function (as the
    kernel's traces start at ``lock_acquire``) out to the kernel entry."""
    files = _LOCKDEP_FILES
    f = sys._getframe(1)
    # lockdep's own frames, and those of a flavour of it defined elsewhere
    while f is not None and (f.f_code.co_filename in files
                             or isinstance(f.f_locals.get("self"), Lockdep)):
        f = f.f_back
    return stack_from(f)


def _acquire_ip():
    """``_RET_IP_``, for a tracepoint fired without its ``ip`` (the lock
    functions pass it): the code object of the function that called the lock
    function (its name is what reports print after "at:")."""
    files = _LOCKING_FILES
    f = sys._getframe(2)
    while f.f_code.co_filename in files:
        f = f.f_back
    return f.f_code


class Lockdep:
    """The validator for one simulated kernel (CONFIG_PROVE_LOCKING): it
    attaches itself as ``kernel.lockdep``; reports go out through
    ``kernel.trace.report("lockdep", text)`` and are kept in ``reports``."""

    # what a report's ident line prints after the release: 6.18's
    # print_kernel_ident() gives the version, then print_tainted()
    ident_tail = "(anonvma model) Not tainted"
    # Whether acquisitions mark usage bits beyond LOCK_USED (mark_irqflags)
    irq_usage = False
    # What earlier runs validated (see validated_chains), taken at boot;
    # None: every validation is done in full
    chain_history: validated_chains | None = VALIDATED_CHAINS

    def __init__(self, kernel):
        self.kernel = kernel
        self.classes: dict = {}
        self.nr_classes = 0
        self._versions: dict = {}      # lock_class_key -> its number among keys of its name
        # the chain cache: the empty stack's lock_chain, the root of every
        # chain seen (a task holding no lock is at it)
        self.chains = lock_chain(False)
        self.nr_lock_chains = 0
        self.nr_edges = 0
        self.reports: list[str] = []
        self._reported: set = set()
        self.history = self.chain_history
        # While the registry is shared (share()): how to undo this run's
        # changes to it, newest last
        self.undo: list | None = None
        kernel.trace.lock_acquire.register(self.lock_acquire)
        kernel.trace.lock_release.register(self.lock_release)
        kernel.lockdep = self

    # -- the registry shared by the machines restored from one snapshot -----------

    def share(self) -> list:
        """Share the lock class registry, the chain cache and the dependency
        graph with every copy of this lockdep a snapshot restores, instead
        of copying them into each: returns the objects a snapshot pickles by
        reference (explore.prefix).  Each copy starts from exactly this
        state: it logs every change it makes to the shared objects (a class
        or chain added, a usage bit, a dependency or a DEP_* kind), and
        ``undo_run`` takes them back before the next copy is restored."""
        self.undo = []
        classes = list(self.classes.values())
        chains, todo = [], [self.chains]
        while todo:
            chains += todo
            todo = [deeper for chain in todo for deeper in chain.values()]
        return [self.classes, self._versions, *chains, *classes, *(c.key for c in classes)]

    @staticmethod
    def undo_run(undo: list) -> None:
        """Give the shared registry back as the snapshot had it."""
        for change in reversed(undo):
            change[0](*change[1:])
        undo.clear()

    def _mark_usage(self, cls: lock_class, bit: int, trace: list | None = None) -> None:
        """A new usage bit for ``cls``, with the trace of it if kept."""
        undo = self.undo
        if undo is not None:
            undo.append((setattr, cls, "usage_mask", cls.usage_mask))
            if trace is not None:
                undo.append((cls.usage_traces.pop, bit))
        cls.usage_mask |= bit
        if trace is not None:
            cls.usage_traces[bit] = trace

    # -- classes ---------------------------------------------------------------

    def register_lock_class(self, lock, subclass: int) -> lock_class:
        key = lock.key
        name = key.name
        # Different keys with one name are told apart as name#2, name#3...
        versions = self._versions
        undo = self.undo
        version = versions.get(key)
        if version is None:
            version = versions[key] = sum(1 for k in versions if k.name == name) + 1
            if undo is not None:
                undo.append((versions.pop, key))
        if version > 1:
            name = f"{name}#{version}"
        if subclass:
            name = f"{name}/{subclass}"
        cls = lock_class(self.nr_classes, key, subclass, name, lock.wait_type)
        self.nr_classes += 1
        ident = (key, subclass) if subclass else key
        self.classes[ident] = cls
        if undo is not None:
            undo.append((self.classes.pop, ident))
        return cls

    # -- the tracepoint probes -------------------------------------------------

    def lock_acquire(self, lock, subclass, trylock, read, ip) -> None:
        curr = self.kernel.current
        if curr is None:
            return
        # __lock_acquire(), in the probe itself: the chain-cache hit path is
        # a class lookup, a slot filled and a dict lookup; it allocates nothing.
        cls = self.classes.get((lock.key, subclass) if subclass else lock.key)
        if cls is None:
            cls = self.register_lock_class(lock, subclass)
        if ip is None:
            ip = _acquire_ip()
        bit = LOCK_USED_READ if read else LOCK_USED
        if not cls.usage_mask & bit:
            self._mark_usage(cls, bit)
        depth = curr.lockdep_depth
        try:
            hlock = curr.held_locks[depth]
        except IndexError:          # never this deep before: one more slot
            hlock = held_lock()
            curr.held_locks.append(hlock)
        # a task holding no lock is at the root, whatever its key says
        prev_key = curr.curr_chain_key if depth else self.chains
        hlock.cls = cls
        hlock.instance = lock
        hlock.read = read
        hlock.trylock = trylock
        hlock.acquire_ip = ip
        hlock.prev_chain_key = prev_key
        if self.irq_usage:
            self.mark_irqflags(curr, hlock)
        # iterate_chain_key(), lookup_chain_cache_add()
        hid = cls.hlock_ids[read]
        chain_key = prev_key.get(hid)
        if chain_key is None:
            chain_key = prev_key[hid] = lock_chain(not trylock)
            if self.undo is not None:
                self.undo.append((prev_key.pop, hid))
            if not trylock:
                self.nr_lock_chains += 1
                self.validate_chain(curr, hlock)
        elif not trylock and not chain_key.cached:
            chain_key.cached = True
            if self.undo is not None:
                self.undo.append((setattr, chain_key, "cached", False))
            self.nr_lock_chains += 1
            self.validate_chain(curr, hlock)
        curr.lockdep_depth = depth + 1
        curr.curr_chain_key = chain_key

    def lock_release(self, lock, ip) -> None:
        curr = self.kernel.current
        if curr is None:
            return
        held = curr.held_locks
        depth = curr.lockdep_depth
        if depth:
            hlock = held[depth - 1]
            if hlock.instance is lock:
                hlock.instance = hlock.acquire_ip = None
                curr.lockdep_depth = depth - 1
                curr.curr_chain_key = hlock.prev_chain_key
                return
        for i in range(depth - 2, -1, -1):
            if held[i].instance is lock:
                break
        else:
            self.print_unlock_imbalance_bug(curr, lock)
            return
        # Released out of order: drop it and re-acquire the locks above it,
        # re-validating the chains they now form (reacquire_held_locks()).
        # Their slots are refilled on the way: take what they say first.
        above = [(h.cls, h.instance, h.read, h.trylock, h.acquire_ip) for h in held[i + 1:depth]]
        curr.curr_chain_key = held[i].prev_chain_key
        for h in held[i:depth]:
            h.instance = h.acquire_ip = None
        curr.lockdep_depth = i
        for cls, instance, read, trylock, ip in above:
            self.lock_acquire(instance, cls.subclass, trylock, read, ip)

    # -- validation --------------------------------------------------------------

    def validate_chain(self, curr, next: held_lock) -> None:
        if not self.check_deadlock(curr, next):
            return
        if curr.lockdep_depth:
            self.check_prevs_add(curr, next)

    def check_deadlock(self, curr, next: held_lock) -> bool:
        """Is the task taking a lock of a class it already holds?"""
        held = curr.held_locks
        for depth in range(curr.lockdep_depth):
            prev = held[depth]
            if prev.cls is not next.cls:
                continue
            # read_lock(A) + read_lock(A) is fine if the second is recursive.
            if next.read == 2 and prev.read:
                continue
            self.print_deadlock_bug(curr, prev, next)
            return False
        return True

    def check_prevs_add(self, curr, next: held_lock) -> None:
        held = curr.held_locks
        top = curr.lockdep_depth
        history = self.history
        key = history.signature(curr, next) if history is not None else None
        trace: list = []        # saved once, shared by the new edges (as the kernel does)
        for depth in range(top - 1, -1, -1):
            prev = held[depth]
            # asked for each: a new dependency may have changed the union
            acyclic = key is not None and history.acyclic(key)
            self.check_prev_add(curr, prev, next, top - depth, trace, acyclic)
            # Stop after the first non-trylock entry: it added its own
            # dependencies on the locks below it already.
            if not prev.trylock:
                break
        if key is not None and not history.acyclic(key):
            history.learn(key, curr, next)

    def check_prev_add(self, curr, prev: held_lock, next: held_lock, distance: int, trace: list,
                       acyclic: bool = False) -> None:
        """``acyclic``: the search is known to find nothing (validated_chains)."""
        if not acyclic:
            path = self.check_noncircular(next, prev)
            if path is not None:
                self.print_circular_bug(curr, path, next, prev)
        dep = dep_kind(prev, next)
        if self.history is not None:
            self.history.add_dep(prev.cls, next.cls, dep)
        entry = prev.cls.locks_after.get(next.cls)
        undo = self.undo
        if entry is not None:
            back = next.cls.locks_before[prev.cls]
            if undo is not None:
                undo += ((setattr, entry, "dep", entry.dep),
                         (setattr, entry, "distance", entry.distance),
                         (setattr, back, "dep", back.dep))
            entry.dep |= dep
            entry.distance = min(entry.distance, distance)
            back.dep |= dep
            return
        if not trace:
            trace.extend(save_trace())
        prev.cls.locks_after[next.cls] = lock_list(next.cls, dep, distance, trace)
        next.cls.locks_before[prev.cls] = lock_list(prev.cls, dep, distance, trace)
        if undo is not None:
            undo += ((prev.cls.locks_after.pop, next.cls), (next.cls.locks_before.pop, prev.cls))
        self.nr_edges += 1

    def check_noncircular(self, src: held_lock, target: held_lock):
        """Would the new dependency target -> src close a cycle?  The strong
        path from ``src``'s class back to ``target``'s, or None."""
        return find_strong_path(src.cls, src.read == 2, target.cls, target.read)

    def mark_irqflags(self, curr, hlock: held_lock) -> None:
        """Usage bits of the context the lock is taken in.  The model has
        process context only, with interrupts on: nothing to mark beyond
        LOCK_USED (eras with more usage states override this)."""

    # -- reports ------------------------------------------------------------------

    def _report(self, key, lines: list[str]) -> None:
        if key in self._reported:
            return
        self._reported.add(key)
        text = "\n".join(lines) + "\n"
        self.reports.append(text)
        trace = self.kernel.trace
        if trace.report.probes:
            trace.report("lockdep", text)

    def usage_chars(self, cls: lock_class) -> str:
        """get_usage_chars(): one column pair (write, read) per usage state,
        hardirq then softirq: '+' for used with irqs enabled, '.' unused."""
        m = cls.usage_mask
        w = "+" if m & LOCK_USED else "."
        r = "+" if m & LOCK_USED_READ else "."
        return w + r + w + r

    def format_lock_class(self, cls: lock_class) -> str:
        """print_lock_name(): ``(name){usage}-{wait_type_inner:outer}``."""
        return f"({cls.name}){{{self.usage_chars(cls)}}}-{{{cls.wait_type}:{cls.wait_type}}}"

    def format_held_lock(self, h: held_lock) -> str:
        """print_lock(): ``(class){usage}-{wait}, at: function``."""
        return f"{self.format_lock_class(h.cls)}, at: {h.acquire_ip.co_name}"

    def _held_locks(self, curr) -> list[str]:
        held = held_locks(curr)
        if not held:
            return [f"no locks held by {curr.comm}/{curr.pid}."]
        n = len(held)
        lines = [f"{n} lock{'s' if n > 1 else ''} held by {curr.comm}/{curr.pid}:"]
        lines += [f" #{i}: {self.format_held_lock(h)}" for i, h in enumerate(held)]
        return lines

    @staticmethod
    def _trace(names: list[str]) -> list[str]:
        return [f"       {n}" for n in names]

    @property
    def ident(self) -> str:
        return f"{self.kernel.init_utsname_release()} {self.ident_tail}"

    def _banner(self, title: str, old_kind: str = "INFO") -> list[str]:
        """The report's header; ``old_kind`` is the word the pre-4.15
        headers used ("[ INFO: ... ]", "[ BUG: ... ]")."""
        head = f"WARNING: {title}"
        return ["", "=" * len(head), head, self.ident, "-" * len(head)]

    def print_circular_bug(self, curr, path, next: held_lock, prev: held_lock) -> None:
        classes = frozenset(cls for cls, _ in path)
        lines = self._banner("possible circular locking dependency detected")
        lines += [f"{curr.comm}/{curr.pid} is trying to acquire lock:", self.format_held_lock(next), "",
                  "but task is already holding lock:", self.format_held_lock(prev), "",
                  "which lock already depends on the new lock.", "", "",
                  "the existing dependency chain (in reverse order) is:"]
        depth = len(path) - 1
        for i in range(depth, -1, -1):
            cls, entry = path[i]
            lines += ["", f"-> #{i} {self.format_lock_class(cls)}:"]
            lines += self._trace(entry.trace if entry is not None else save_trace())
        source, target = next.cls, prev.cls
        parent = path[-2][0] if len(path) > 1 else source
        lines += ["", "other info that might help us debug this:", ""]
        if parent is not source:
            lines += ["Chain exists of:",
                      f"  {source.name} --> {parent.name} --> {target.name}", ""]
        lines += [" Possible unsafe locking scenario:", "",
                  "       CPU0                    CPU1",
                  "       ----                    ----",
                  f"  {'rlock' if prev.read else 'lock'}({target.name});",
                  f"                               lock({parent.name});",
                  f"                               lock({target.name});",
                  f"  {'rlock' if next.read else 'lock'}({source.name});",
                  "", " *** DEADLOCK ***", ""]
        lines += self._held_locks(curr)
        lines += ["", "stack backtrace:"] + self._trace(save_trace())
        self._report(("circular", classes), lines)

    def print_deadlock_bug(self, curr, prev: held_lock, next: held_lock) -> None:
        lines = self._banner("possible recursive locking detected")
        lines += [f"{curr.comm}/{curr.pid} is trying to acquire lock:", self.format_held_lock(next), "",
                  "but task is already holding lock:", self.format_held_lock(prev), "",
                  "other info that might help us debug this:",
                  " Possible unsafe locking scenario:", "",
                  "       CPU0", "       ----",
                  f"  lock({prev.cls.name});", f"  lock({next.cls.name});", "",
                  " *** DEADLOCK ***", "",
                  " May be due to missing lock nesting notation", ""]
        lines += self._held_locks(curr)
        lines += ["", "stack backtrace:"] + self._trace(save_trace())
        self._report(("recursive", next.cls), lines)

    def print_unlock_imbalance_bug(self, curr, lock) -> None:
        lines = self._banner("bad unlock balance detected!", "BUG")
        lines += [f"{curr.comm}/{curr.pid} is trying to release lock ({lock.name}) at:",
                  f"{_acquire_ip().co_name}",
                  "but there are no more locks to release!", "",
                  "other info that might help us debug this:"]
        lines += self._held_locks(curr)
        lines += ["", "stack backtrace:"] + self._trace(save_trace())
        self._report(("unlock", lock.key, curr.pid), lines)
