"""Running a scenario's sequential prefix once per exploration.

The steps before a scenario's first ``together`` block take no decision:
every run of a session goes through the same states up to there (the
checkers already keep what they found there, ``Session.prefix_checks``).
``Prefixed(session)`` boots one machine, runs that prefix once, and keeps a
snapshot of the whole machine (kernel, lockdep's classes and validated
chains, the checkers, the reports and trace lines so far); every ``boot()``
then restores a machine from the snapshot, which goes on from the first
together block.  A run from a snapshot is the run from a fresh boot: the
same decisions, reports and saved failures (tests/explore/test_prefix.py).

The snapshot is a pickle.  A fork server (``os.fork()`` after the prefix,
one child per schedule) was measured against it and lost: a fork of this
process costs more than running the whole small scenario (benchmarks/
bench_sched.py prints the three: rerun, restore, fork).

What is not copied but shared with the restored machine: the session
(with its ``prefix_checks``) and every object a module of the model holds
at module level (``fs_reclaim_map`` and its lockdep key, the trace-token
tables...), as a fork would share them; lockdep tells lock classes apart by
their key objects, so a copied ``fs_reclaim`` key would be a class of its own.
And lockdep's lock class registry, chain cache and dependency graph
(``Lockdep.share``): every restored machine starts from them as the prefix
left them, and what its run added is taken back before the next one is
restored.  So one restored machine is in use at a time: restoring the next
detaches lockdep from the one before.

The prefix runs under the explorer's scheduler, as in an exploration's own
runs, so a kernel thread started there (kswapd at the first wakeup) is a
task of every schedule.  A prefix that cannot be snapshot (it raised, or
left something that does not pickle) leaves ``Prefixed`` booting afresh.
"""

from __future__ import annotations

import gc
import io
import pickle
import sys
import types
import weakref

from ..kernel.kernel.locking.lockdep import Lockdep, lockdep_map
from .runner import AllocFailures
from .scheduler import Scheduler

# Values that pickle by value and have no identity worth sharing.
_ATOMIC = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
           str, bytes, int, float, bool, type(None))


def _shared(session) -> list:
    """What a restored machine shares with the exploration instead of
    copying: the session, and the model's module-level objects."""
    # the era's classes too: a user patch's module is not importable by name
    objs = [session, session.prefix_checks, session.sc, *session.kernel_class.__mro__]
    for name, module in list(sys.modules.items()):
        if name == "anonvma" or name.startswith("anonvma."):
            objs.extend(v for k, v in vars(module).items()
                        if not k.startswith("__") and not isinstance(v, _ATOMIC))
    # and a static lockdep map's key: the map's class is found by it
    objs.extend([v.key for v in objs if isinstance(v, lockdep_map)])
    return objs


class _Pickler(pickle.Pickler):
    def __init__(self, file, shared: dict):
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def persistent_id(self, obj):
        return self.shared.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, shared: list):
        super().__init__(file)
        self.shared = shared

    def persistent_load(self, pid):
        return self.shared[pid]


class Prefixed:
    """A session whose machines start after its sequential prefix."""

    def __init__(self, session):
        self.session = session
        self.snapshot: bytes | None = None
        self._objs: list = []
        self._undo: list | None = None      # the shared lockdep registry's log
        self._restored = None               # weakref: the last restored machine's lockdep
        self._shares_lockdep = False
        until = max(session.prefix_checks, default=None)
        if until is None:
            return
        machine = session.boot()
        kernel = machine.kernel
        kernel.sched = Scheduler(kernel, None)
        # what the prefix's allocations fail, counted on in every run
        machine.alloc_failures = AllocFailures()
        kernel.trace.slab_out_of_memory.register(machine.alloc_failures)
        try:
            machine.run_steps(until=until)
        except Exception:       # a hang or a BUG: every run fails in the prefix, each shows how
            return
        objs = _shared(session)
        lockdep = kernel.lockdep
        if lockdep is not None:
            objs += lockdep.share()
        shared = {id(obj): i for i, obj in enumerate(objs)}
        buf = io.BytesIO()
        try:
            _Pickler(buf, shared).dump(machine)
        except (pickle.PicklingError, TypeError, AttributeError):
            return
        self.snapshot = buf.getvalue()
        self._objs = objs
        self._shares_lockdep = lockdep is not None

    # What a program is to the runner: boot() gives a machine.
    def boot(self):
        if self.snapshot is None:
            return self.session.boot()
        # The unpickler makes thousands of objects and no garbage: a
        # collection during it would only walk them.
        if self._undo is not None:
            Lockdep.undo_run(self._undo)
            restored = self._restored()
            if restored is not None:
                restored.retire()
        enabled = gc.isenabled()
        gc.disable()
        try:
            machine = _Unpickler(io.BytesIO(self.snapshot), self._objs).load()
        finally:
            if enabled:
                gc.enable()
        if self._shares_lockdep:
            lockdep = machine.kernel.lockdep
            self._undo, self._restored = lockdep.undo, weakref.ref(lockdep)
        return machine

    def __reduce__(self):
        # A worker process (explore --jobs) takes its own snapshot.
        return Prefixed, (self.session,)
