"""kernel/locking/lockdep.c: the runtime locking correctness validator.

lockdep is a checker: it subscribes to the ``lock_acquire``/``lock_release``
tracepoints and never changes what the model does.  It follows the kernel's
design (Documentation/locking/lockdep-design.rst):

- Locks are grouped into *classes* by their ``lock_class_key``: every
  ``anon_vma->rwsem`` is one class.  ``subclass`` (``down_write_nested``)
  makes a separate class, printed ``name/N``.
- Each task keeps its stack of held locks (``task.held_locks``) and a hash
  of it, the *chain key* (``task.curr_chain_key``).  A held-lock stack whose
  chain key was seen before has been validated already and costs one set
  lookup; only new chains are validated.
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
  reclaim" is then an ordinary circular dependency.  Before that (2009-2017)
  reclaim was an IRQ-like *usage state*, RECLAIM_FS: ``lockdep_trace_alloc``
  marked every held lock RECLAIM_FS-ON, acquisitions in reclaim marked
  IN-RECLAIM_FS, and a class with both was an "inconsistent lock state",
  the report Hugh Dickins got for the 3.0-rc anon_vma_clone.  ``mode``
  selects the era: ``"fs_reclaim"`` (default) or ``"reclaim_fs"``.

Where the model departs from the kernel:
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
"""

from __future__ import annotations

import sys
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
# only context the model has (the '+' of "{+.+.}").  The RECLAIM_FS bits
# exist in the "reclaim_fs" mode only.
LOCK_USED = 1 << 0
LOCK_USED_READ = 1 << 1
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

# GFP bits lockdep looks at.  Linux 6.18 (include/linux/gfp_types.h) ...
__GFP_IO = 0x40
__GFP_FS = 0x80
# what 2011's kswapd passed to lockdep_set_current_reclaim_state(): GFP_KERNEL
KSWAPD_RECLAIM_GFP = 0xD0
__GFP_DIRECT_RECLAIM = 0x400
__GFP_NOLOCKDEP = 0x1000000
# ... and Linux 3.0 (include/linux/gfp.h), for the "reclaim_fs" mode.
__GFP_WAIT_3_0 = 0x10
__GFP_NOMEMALLOC_3_0 = 0x10000

PF_MEMALLOC = 0x00000800
PF_MEMALLOC_NOFS = 0x00040000
PF_MEMALLOC_NOIO = 0x00080000

FS_RECLAIM = "fs_reclaim"
RECLAIM_FS = "reclaim_fs"

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


# mm/page_alloc.c: static struct lockdep_map __fs_reclaim_map.
__fs_reclaim_map = lockdep_map("fs_reclaim")
fs_reclaim_map = __fs_reclaim_map


class lock_class:
    __slots__ = ("idx", "key", "subclass", "name", "wait_type", "usage_mask",
                 "usage_traces", "locks_after", "locks_before")

    def __init__(self, idx: int, key, subclass: int, name: str, wait_type: int):
        self.idx = idx
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


class held_lock:
    __slots__ = ("cls", "instance", "read", "trylock", "acquire_ip", "prev_chain_key")

    def __init__(self, cls, instance, read, trylock, acquire_ip, prev_chain_key):
        self.cls = cls
        self.instance = instance
        self.read = read
        self.trylock = trylock
        self.acquire_ip = acquire_ip      # the code object of the acquiring function
        self.prev_chain_key = prev_chain_key


# Frames of lockdep and the tracepoint plumbing: never part of a trace.
_LOCKDEP_FILES = frozenset((_lock_mod.__file__, _trace_mod.__file__, __file__))
# ... and of the lock functions: skipped too when looking for the caller.
_LOCKING_FILES = _LOCKDEP_FILES | {_mutex_mod.__file__, _rwsem_mod.__file__, _spin_mod.__file__}


def _stop_frame(filename: str) -> bool:
    """Where a model stack trace ends: at the scheduler (a task's entry, the
    hub) or the harness above the kernel (runner, scenario, CLI, pytest)."""
    return ("/sched/core.py" in filename or filename.endswith(
        ("/explore/runner.py", "/anonvma/scenario.py", "/anonvma/cli.py"))
        or "/_pytest/" in filename or "/pluggy/" in filename)


def save_trace() -> list[str]:
    """The current stack, innermost first, from the lock function (as the
    kernel's traces start at ``lock_acquire``) out to the task's entry."""
    files = _LOCKDEP_FILES
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename in files:
        f = f.f_back
    names = []
    while f is not None and len(names) < MAX_TRACE and not _stop_frame(f.f_code.co_filename):
        names.append(f.f_code.co_name)
        f = f.f_back
    return names


def _acquire_ip():
    """``_RET_IP_``: the code object of the function that called the lock
    function (its name is what reports print after "at:")."""
    files = _LOCKING_FILES
    f = sys._getframe(2)
    while f.f_code.co_filename in files:
        f = f.f_back
    return f.f_code


def _usage_char(mask: int, used_in: int, enabled: int) -> str:
    # get_usage_char(): '+' enabled, '-' used in, '?' both, '.' neither
    if mask & used_in:
        return "?" if mask & enabled else "-"
    return "+" if mask & enabled else "."


def _usage_chars(cls: lock_class, reclaim_fs: bool) -> str:
    m = cls.usage_mask
    w = "+" if m & LOCK_USED else "."
    r = "+" if m & LOCK_USED_READ else "."
    chars = w + r + w + r                       # hardirq W R, softirq W R
    if reclaim_fs:
        chars += _usage_char(m, LOCK_USED_IN_RECLAIM_FS, LOCK_ENABLED_RECLAIM_FS)
        chars += _usage_char(m, LOCK_USED_IN_RECLAIM_FS_READ, LOCK_ENABLED_RECLAIM_FS_READ)
    return chars


def format_lock_class(cls: lock_class, reclaim_fs: bool = False) -> str:
    if reclaim_fs:      # 2011 lockdep had no wait types
        return f"({cls.name}){{{_usage_chars(cls, True)}}}"
    return f"({cls.name}){{{_usage_chars(cls, False)}}}-{{{cls.wait_type}:{cls.wait_type}}}"


def format_held_lock(h: held_lock, reclaim_fs: bool = False) -> str:
    """print_lock(): ``(class){usage}-{wait}, at: function``."""
    return f"{format_lock_class(h.cls, reclaim_fs)}, at: {h.acquire_ip.co_name}"


def _need_reclaim(curr, gfp_mask: int) -> bool:
    """mm/page_alloc.c ``__need_reclaim()`` (one underscore: Python would
    mangle two inside the class that calls it)."""
    if not gfp_mask & __GFP_DIRECT_RECLAIM:
        return False        # no reclaim without waiting on it
    if curr.flags & PF_MEMALLOC:
        return False        # this guy won't enter reclaim
    return not gfp_mask & __GFP_NOLOCKDEP


def _fs_reclaim_allowed(curr, gfp_mask: int) -> bool:
    """Would this allocation take fs_reclaim (modern mode)?"""
    gfp_mask = current_gfp_context(curr, gfp_mask)
    return _need_reclaim(curr, gfp_mask) and bool(gfp_mask & __GFP_FS)


def _may_reclaim_fs_3_0(curr, gfp_mask: int) -> bool:
    """2011 ``__lockdep_trace_alloc()``'s conditions, in 3.0 GFP numbering."""
    if not gfp_mask & __GFP_WAIT_3_0:
        return False        # no reclaim without waiting on it
    if curr.flags & PF_MEMALLOC and not gfp_mask & __GFP_NOMEMALLOC_3_0:
        return False        # this guy won't enter reclaim
    return bool(gfp_mask & __GFP_FS)    # only __GFP_FS allocations for now


def _in_fs_reclaim(curr) -> bool:
    return bool(curr.lockdep_reclaim_gfp & __GFP_FS)


def current_gfp_context(task, flags: int) -> int:
    """include/linux/sched/mm.h: memalloc_noio/nofs scopes strip the bits."""
    pflags = task.flags
    if pflags & PF_MEMALLOC_NOIO:
        flags &= ~(__GFP_IO | __GFP_FS)
    elif pflags & PF_MEMALLOC_NOFS:
        flags &= ~__GFP_FS
    return flags


class Lockdep:
    """The validator for one simulated kernel.  Attach with
    ``kernel.lockdep = Lockdep(kernel)``; reports go out through
    ``kernel.trace.report("lockdep", text)`` and are kept in ``reports``."""

    def __init__(self, kernel, mode: str = FS_RECLAIM, ident: str | None = None):
        if mode not in (FS_RECLAIM, RECLAIM_FS):
            raise ValueError(f"lockdep mode must be {FS_RECLAIM!r} or {RECLAIM_FS!r}, not {mode!r}")
        self.kernel = kernel
        self.mode = mode
        self.reclaim_fs = mode == RECLAIM_FS
        self.ident = ident or ("3.0.0 (anonvma model)" if self.reclaim_fs
                               else "6.18.0 (anonvma model) Not tainted")
        self.classes: dict = {}
        self.nr_classes = 0
        self._names: dict[str, int] = {}
        self.chains: set[int] = set()
        self.nr_edges = 0
        self.reports: list[str] = []
        self._reported: set = set()
        kernel.trace.lock_acquire.register(self.lock_acquire)
        kernel.trace.lock_release.register(self.lock_release)

    def detach(self) -> None:
        self.kernel.trace.lock_acquire.unregister(self.lock_acquire)
        self.kernel.trace.lock_release.unregister(self.lock_release)

    # -- classes ---------------------------------------------------------------

    def register_lock_class(self, lock, subclass: int) -> lock_class:
        key = lock.key
        name = key.name
        # Different keys with one name are told apart as name#2, name#3...
        versions = self._names
        base = (name, id(key))
        if base not in versions:
            versions[base] = sum(1 for n, _ in versions if n == name) + 1
        version = versions[base]
        if version > 1:
            name = f"{name}#{version}"
        if subclass:
            name = f"{name}/{subclass}"
        cls = lock_class(self.nr_classes, key, subclass, name, lock.wait_type)
        self.nr_classes += 1
        self.classes[(key, subclass) if subclass else key] = cls
        return cls

    # -- the tracepoint probes -------------------------------------------------

    def lock_acquire(self, lock, subclass, trylock, read, ip) -> None:
        curr = self.kernel.current
        if curr is None:
            return
        cls = self.classes.get((lock.key, subclass) if subclass else lock.key)
        if cls is None:
            cls = self.register_lock_class(lock, subclass)
        self.__lock_acquire(curr, cls, lock, read, trylock, _acquire_ip())

    def __lock_acquire(self, curr, cls, lock, read, trylock, ip) -> None:
        bit = LOCK_USED_READ if read else LOCK_USED
        if not cls.usage_mask & bit:
            cls.usage_mask |= bit
        prev_key = curr.curr_chain_key
        hlock = held_lock(cls, lock, read, trylock, ip, prev_key)
        if self.reclaim_fs and not trylock and _in_fs_reclaim(curr):
            # mark_irqflags(): a lock taken inside fs reclaim.
            self.mark_lock(curr, hlock,
                           LOCK_USED_IN_RECLAIM_FS_READ if read else LOCK_USED_IN_RECLAIM_FS)
        chain_key = hash((prev_key, cls.idx, read))
        if not trylock and chain_key not in self.chains:
            self.chains.add(chain_key)
            self.validate_chain(curr, hlock)
        curr.held_locks.append(hlock)
        curr.curr_chain_key = chain_key

    def lock_release(self, lock, ip) -> None:
        curr = self.kernel.current
        if curr is None:
            return
        held = curr.held_locks
        if held and held[-1].instance is lock:
            curr.curr_chain_key = held.pop().prev_chain_key
            return
        for i in range(len(held) - 2, -1, -1):
            if held[i].instance is lock:
                break
        else:
            self.print_unlock_imbalance_bug(curr, lock)
            return
        # Released out of order: drop it and re-acquire the locks above it,
        # re-validating the chains they now form (reacquire_held_locks()).
        above = held[i + 1:]
        curr.curr_chain_key = held[i].prev_chain_key
        del held[i:]
        for h in above:
            self.__lock_acquire(curr, h.cls, h.instance, h.read, h.trylock, h.acquire_ip)

    # -- validation --------------------------------------------------------------

    def validate_chain(self, curr, next: held_lock) -> None:
        if not self.check_deadlock(curr, next):
            return
        if curr.held_locks:
            self.check_prevs_add(curr, next)

    def check_deadlock(self, curr, next: held_lock) -> bool:
        """Is the task taking a lock of a class it already holds?"""
        for prev in curr.held_locks:
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
        trace: list = []        # saved once, shared by the new edges (as the kernel does)
        for depth in range(len(held) - 1, -1, -1):
            prev = held[depth]
            self.check_prev_add(curr, prev, next, len(held) - depth, trace)
            # Stop after the first non-trylock entry: it added its own
            # dependencies on the locks below it already.
            if not prev.trylock:
                break

    def check_prev_add(self, curr, prev: held_lock, next: held_lock, distance: int, trace: list) -> None:
        path = self.check_noncircular(next, prev)
        if path is not None:
            self.print_circular_bug(curr, path, next, prev)
        dep = 1 << ((prev.read == 0) + 2 * (next.read != 2))
        entry = prev.cls.locks_after.get(next.cls)
        if entry is not None:
            entry.dep |= dep
            entry.distance = min(entry.distance, distance)
            next.cls.locks_before[prev.cls].dep |= dep
            return
        if not trace:
            trace.extend(save_trace())
        prev.cls.locks_after[next.cls] = lock_list(next.cls, dep, distance, trace)
        next.cls.locks_before[prev.cls] = lock_list(prev.cls, dep, distance, trace)
        self.nr_edges += 1

    def check_noncircular(self, src: held_lock, target: held_lock):
        """BFS from ``src``'s class for a strong path back to ``target``'s:
        would the new dependency target -> src close a cycle?  Returns the
        path as [(class, lock_list or None), ...] from src to target, or
        None.  A state is (class, only_xr): whether every way we arrived by
        was a -(xR)-> step, after which -(Sx)-> steps do not count."""
        tcls = target.cls
        tread = target.read
        root = (src.cls, src.read == 2)
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

    # -- reclaim ----------------------------------------------------------------

    def fs_reclaim_acquire(self, gfp_mask: int) -> None:
        """mm/page_alloc.c: called around every allocation (``might_alloc``)
        and held across direct reclaim.  In the "reclaim_fs" mode the same
        call is 2011's ``lockdep_trace_alloc`` plus entering the reclaim
        context (``lockdep_set_current_reclaim_state``)."""
        curr = self.kernel.current
        if self.reclaim_fs:
            self.lockdep_trace_alloc(gfp_mask)
            self.lockdep_set_current_reclaim_state(gfp_mask)
            return
        if _fs_reclaim_allowed(curr, gfp_mask):
            self.kernel.trace.lock_acquire(fs_reclaim_map, 0, 0, 0, None)

    def fs_reclaim_release(self, gfp_mask: int) -> None:
        curr = self.kernel.current
        if self.reclaim_fs:
            self.lockdep_clear_current_reclaim_state()
            return
        if _fs_reclaim_allowed(curr, gfp_mask):
            self.kernel.trace.lock_release(fs_reclaim_map, None)

    def _fs_reclaim_acquire(self) -> None:
        """``__fs_reclaim_acquire()``: what kswapd's balance_pgdat() holds,
        whatever its own flags (kswapd runs with PF_MEMALLOC)."""
        if self.reclaim_fs:
            self.lockdep_set_current_reclaim_state(KSWAPD_RECLAIM_GFP)
        else:
            self.kernel.trace.lock_acquire(fs_reclaim_map, 0, 0, 0, None)

    def _fs_reclaim_release(self) -> None:
        if self.reclaim_fs:
            self.lockdep_clear_current_reclaim_state()
        else:
            self.kernel.trace.lock_release(fs_reclaim_map, None)

    def lockdep_trace_alloc(self, gfp_mask: int) -> None:
        """2.6.30-4.13: an allocation that may recurse into fs reclaim marks
        every held lock RECLAIM_FS-ON (``mark_held_locks``).  GFP bits are
        read in that era's numbering (__GFP_WAIT = 0x10)."""
        curr = self.kernel.current
        if not _may_reclaim_fs_3_0(curr, gfp_mask):
            return
        for hlock in curr.held_locks:
            self.mark_lock(curr, hlock,
                           LOCK_ENABLED_RECLAIM_FS_READ if hlock.read else LOCK_ENABLED_RECLAIM_FS)

    def lockdep_set_current_reclaim_state(self, gfp_mask: int) -> None:
        self.kernel.current.lockdep_reclaim_gfp = gfp_mask

    def lockdep_clear_current_reclaim_state(self) -> None:
        self.kernel.current.lockdep_reclaim_gfp = 0

    def mark_lock(self, curr, hlock: held_lock, new_bit: int) -> None:
        cls = hlock.cls
        if cls.usage_mask & new_bit:
            return
        cls.usage_mask |= new_bit
        cls.usage_traces[new_bit] = save_trace()
        for bad in USAGE_CONFLICTS[new_bit]:
            if cls.usage_mask & bad:
                self.print_usage_bug(curr, hlock, bad, new_bit)
                return

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

    def _lock(self, h: held_lock) -> str:
        return format_held_lock(h, self.reclaim_fs)

    def _class(self, cls: lock_class) -> str:
        return format_lock_class(cls, self.reclaim_fs)

    def _held_locks(self, curr) -> list[str]:
        held = curr.held_locks
        if not held:
            return [f"no locks held by {curr.comm}/{curr.pid}."]
        n = len(held)
        lines = [f"{n} lock{'s' if n > 1 else ''} held by {curr.comm}/{curr.pid}:"]
        lines += [f" #{i}: {self._lock(h)}" for i, h in enumerate(held)]
        return lines

    @staticmethod
    def _trace(names: list[str]) -> list[str]:
        return [f"       {n}" for n in names]

    def _banner(self, title: str, old_kind: str = "INFO") -> list[str]:
        # 2011 headers were "[ INFO: ... ]" or "[ BUG: ... ]"; since 4.15
        # they are "WARNING: ...".
        head = f"[ {old_kind}: {title} ]" if self.reclaim_fs else f"WARNING: {title}"
        return ["", "=" * len(head), head, self.ident, "-" * len(head)]

    def print_circular_bug(self, curr, path, next: held_lock, prev: held_lock) -> None:
        classes = frozenset(cls for cls, _ in path)
        lines = self._banner("possible circular locking dependency detected")
        lines += [f"{curr.comm}/{curr.pid} is trying to acquire lock:", self._lock(next), "",
                  "but task is already holding lock:", self._lock(prev), "",
                  "which lock already depends on the new lock.", "", "",
                  "the existing dependency chain (in reverse order) is:"]
        depth = len(path) - 1
        for i in range(depth, -1, -1):
            cls, entry = path[i]
            lines += ["", f"-> #{i} {self._class(cls)}:"]
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
        lines += [f"{curr.comm}/{curr.pid} is trying to acquire lock:", self._lock(next), "",
                  "but task is already holding lock:", self._lock(prev), "",
                  "other info that might help us debug this:",
                  " Possible unsafe locking scenario:", "",
                  "       CPU0", "       ----",
                  f"  lock({prev.cls.name});", f"  lock({next.cls.name});", "",
                  " *** DEADLOCK ***", "",
                  " May be due to missing lock nesting notation", ""]
        lines += self._held_locks(curr)
        lines += ["", "stack backtrace:"] + self._trace(save_trace())
        self._report(("recursive", next.cls), lines)

    def print_usage_bug(self, curr, this: held_lock, prev_bit: int, new_bit: int) -> None:
        cls = this.cls
        lines = self._banner("inconsistent lock state")
        lines += [f"inconsistent {{{USAGE_STR[prev_bit]}}} -> {{{USAGE_STR[new_bit]}}} usage.",
                  f"{curr.comm}/{curr.pid} [HC0[0]:SC0[0]:HE1:SE1] takes:",
                  f" {self._lock(this)}",
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

    def print_unlock_imbalance_bug(self, curr, lock) -> None:
        lines = self._banner("bad unlock balance detected!", "BUG")
        lines += [f"{curr.comm}/{curr.pid} is trying to release lock ({lock.name}) at:",
                  f"{_acquire_ip().co_name}",
                  "but there are no more locks to release!", "",
                  "other info that might help us debug this:"]
        lines += self._held_locks(curr)
        lines += ["", "stack backtrace:"] + self._trace(save_trace())
        self._report(("unlock", lock.key, curr.pid), lines)
