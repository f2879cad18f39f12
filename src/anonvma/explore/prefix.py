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

The snapshot is a pickle, restored once: every ``boot()`` after the first
puts the objects it made back as they were (``_Restore``) instead of
unpickling a new machine, which costs several times more: most of them
(the slab caches' free objects, the page tables of the prefix) are the
same after a run, and telling that takes one C-level pass per class.  The
copy is the restored machine as the unpickler made it, object for object,
so a run from it is the run from a fresh restore.  A fork server
(``os.fork()`` after the prefix, one child per schedule) was measured
against the pickle and lost: a fork of this process costs more than
running the whole small scenario (benchmarks/bench_explore.py prints the
three: rerun, restore, fork).

What is not copied but shared with the restored machine: the session
(with its ``prefix_checks``) and every object a module of the model holds
at module level (``fs_reclaim_map`` and its lockdep key, the trace-token
tables...), as a fork would share them; lockdep tells lock classes apart by
their key objects, so a copied ``fs_reclaim`` key would be a class of its own.
And lockdep's lock class registry, chain cache and dependency graph
(``Lockdep.share``): the machine starts from them as the prefix left them,
and what a run added is taken back before the next boot.  So there is one
restored machine, and a boot ends the run before: whatever the caller
keeps of a run must be copied out of the machine (the runner copies its
reports).

The prefix runs under the explorer's scheduler, as in an exploration's own
runs, so a kernel thread started there (kswapd at the first wakeup) is a
task of every schedule.  A prefix that cannot be snapshot (it raised, or
left something that does not pickle, or an object whose state is not all
in its slots, ``__dict__`` and items) leaves ``Prefixed`` booting afresh.
"""

from __future__ import annotations

import copyreg
import functools
import gc
import io
import pickle
import random
import struct
import sys
import types
from collections import Counter, deque
from itertools import chain, compress, repeat
from operator import attrgetter, is_, is_not

from ..kernel.kernel.locking.lockdep import Lockdep, lockdep_map
from .runner import AllocFailures
from .scheduler import Scheduler

# Values that pickle by value or by name and have no identity worth sharing
# (of these types exactly: what else a module holds is shared, which is safe)
_ATOMIC = frozenset((type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                     str, bytes, int, float, bool, type(None)))
# What a restored machine holds that no run changes: values, and the
# callables bound to its objects (the tracepoints' probes).
_IMMUTABLE = frozenset((tuple, frozenset, str, bytes, int, float, complex, bool, type(None),
                        type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                        functools.partial))
# The classes an object's state may come from besides the model's own:
# all of it is then in its slots, its __dict__ and its items.
_PLAIN_BASES = frozenset((object, dict, list, set, Counter))
_UNSET = object()           # a slot the restored object does not have
_ALL = slice(None)


class _Unrestorable(Exception):
    """An object whose state ``_Restore`` cannot put back."""


def _traversed(cls) -> tuple | None:
    """The slots of ``cls`` in the order the collector's traversal of an
    instance visits them (CPython's subtype_traverse: each class's own slots
    by name, then its base's...), then the class itself; None if an
    instance with a distinct object in every slot does not show them so."""
    names = []
    for base in cls.__mro__:
        if base is object:
            break
        own = base.__dict__.get("__slots__", ())
        own = (own,) if isinstance(own, str) else own
        names += sorted(f"_{base.__name__.lstrip('_')}{name}"
                        if name.startswith("__") and not name.endswith("__") else name
                        for name in own if name not in ("__dict__", "__weakref__"))
    try:
        probe = object.__new__(cls)
        marks = [object() for _ in names]
        for name, mark in zip(names, marks):
            object.__setattr__(probe, name, mark)
    except (TypeError, AttributeError):
        return None
    refs = gc.get_referents(probe)
    if len(refs) != len(marks) + 1 or not all(map(is_, refs, [*marks, cls])):
        return None
    return (*names, "__class__")


class _Restore:
    """Puts every object of a restored machine back as the unpickler made
    it: the class, slots, ``__dict__`` and items of each, object identities
    kept.

    The objects of a class with slots only are read together, in one C-level
    call (``gc.get_referents``: every slot's value and the class, object
    after object), compared by identity with the values they had (so a value
    that is equal but another object, ``True`` for ``1`` or a new empty
    list, counts as changed), and only what a run changed is set again.
    Objects with a ``__dict__`` as well, or whose traversal does not show
    their slots in that order, are read slot by slot.  Lists, dicts and
    sets, the ``__dict__``s among them, get their items back (a dict in its
    order)."""

    def __init__(self, objs: list, own_classes: frozenset):
        # class -> (its slots in traversal order or None, whether its
        # instances have a __dict__, its slots by name)
        known: dict = {}
        together: dict = {}             # class -> (names, objects, their referents)
        one_by_one: dict = {}           # class -> (names, objects, their values)
        self.unset: list = []           # (obj, names, values): a slot unset among them
        # objects of a class read one by one, whose class KASAN and the
        # scoped checks may switch (read together, the class is a referent)
        self.instances: list = []
        self.lists, self.dicts, self.sets, self.rngs = [], [], [], []
        for obj in objs:
            cls = type(obj)
            if cls in _IMMUTABLE:
                continue
            info = known.get(cls)
            if info is None:
                if cls is not random.Random and not all(
                        base in _PLAIN_BASES or base in own_classes
                        or base.__module__.partition(".")[0] == "anonvma"
                        for base in cls.__mro__):
                    raise _Unrestorable(cls)
                has_dict = cls.__dictoffset__ != 0
                info = known[cls] = (None if has_dict else _traversed(cls), has_dict,
                                     tuple(copyreg._slotnames(cls)))
            if cls is random.Random:
                self.rngs.append(obj)
            if isinstance(obj, dict):
                self.dicts.append(obj)
            elif isinstance(obj, list):
                self.lists.append(obj)
            elif isinstance(obj, set):
                self.sets.append(obj)
            names, has_dict, slots = info
            if has_dict:
                self.dicts.append(object.__getattribute__(obj, "__dict__"))
            elif names:
                # every slot set: the traversal shows them in the order of
                # ``names`` (_traversed), then the class
                refs = gc.get_referents(obj)
                if len(refs) == len(names):
                    group = together.setdefault(cls, (names, [], []))
                    group[1].append(obj)
                    group[2].extend(refs)
                    continue
            if cls not in _PLAIN_BASES:
                self.instances.append(obj)
            if slots:
                values = tuple(getattr(obj, name, _UNSET) for name in slots)
                if any(v is _UNSET for v in values):
                    self.unset.append((obj, slots, values))
                else:
                    group = one_by_one.setdefault(cls, (slots, [], []))
                    group[1].append(obj)
                    group[2].extend(values)
        self.classes = [type(obj) for obj in self.instances]
        # (objects, then for each of their slots, in one flat list each: its
        # object, its name, its value; how to read those values now)
        self.slots = []
        for groups, read in ((together, _referents), (one_by_one, None)):
            for names, group_objs, flat in groups.values():
                self.slots.append((group_objs, [obj for obj in group_objs for _ in names],
                                   list(names) * len(group_objs), flat, read or _getter(names)))
        self.list_items = [list(x) for x in self.lists]
        self.dict_items = [dict(x) for x in self.dicts]
        self.set_items = [list(x) for x in self.sets]
        self.rng_states = [rng.getstate() for rng in self.rngs]
        # 0, 1, 2...: made once, an iteration over them makes no int
        self.positions = list(range(max([len(self.instances), *(len(g[3]) for g in self.slots)])))

    def __call__(self) -> None:
        setattr_ = object.__setattr__       # past a watching class's __setattr__
        positions = self.positions
        changed = list(compress(positions, map(is_not, map(type, self.instances), self.classes)))
        if changed:
            deque(map(setattr_, map(self.instances.__getitem__, changed), repeat("__class__"),
                      map(self.classes.__getitem__, changed)), 0)
        for objs, owners, names, flat, read in self.slots:
            try:
                now = read(objs)
            except AttributeError:      # a run deleted a slot
                now = ()
            if len(now) == len(flat):   # the slots holding another object than they did
                changed = list(compress(positions, map(is_not, now, flat)))
                if changed:
                    deque(map(setattr_, map(owners.__getitem__, changed),
                              map(names.__getitem__, changed), map(flat.__getitem__, changed)), 0)
            else:                       # ... or all of them
                deque(map(setattr_, owners, names, flat), 0)
        for obj, names, values in self.unset:
            for name, value in zip(names, values):
                if value is not _UNSET:
                    setattr_(obj, name, value)
                elif hasattr(obj, name):
                    object.__delattr__(obj, name)
        deque(map(list.__setitem__, self.lists, repeat(_ALL), self.list_items), 0)
        deque(map(dict.clear, self.dicts), 0)
        deque(map(dict.update, self.dicts, self.dict_items), 0)
        deque(map(set.clear, self.sets), 0)
        deque(map(set.update, self.sets, self.set_items), 0)
        deque(map(random.Random.setstate, self.rngs, self.rng_states), 0)


def _referents(objs: list) -> list:
    return gc.get_referents(*objs)


def _getter(names: tuple):
    get = attrgetter(*names)
    if len(names) > 1:
        return lambda objs: list(chain.from_iterable(map(get, objs)))
    return lambda objs: list(map(get, objs))


def _made(machine, memo: dict, again: dict) -> list:
    """The objects the unpickler made for ``machine`` (not those it found:
    shared ones, classes, what a reduce function returned as it was; those
    are the same in a second load ``again``), reachable from it (not the
    states it built them from)."""
    made = {id(obj): obj for i, obj in memo.items() if again.get(i) is not obj}
    seen = {id(machine)}
    queue = [machine]
    for obj in queue:
        refs = gc.get_referents(obj)
        if type(obj).__dictoffset__:    # its __dict__ is the unpickler's too, not in its memo
            refs += gc.get_referents(object.__getattribute__(obj, "__dict__"))
        for ref in refs:
            key = id(ref)
            if key in made and key not in seen:
                seen.add(key)
                queue.append(ref)
    return queue


def _shared(session) -> list:
    """What a restored machine shares with the exploration instead of
    copying: the session, and the model's module-level objects."""
    # the era's classes too: a user patch's module is not importable by name
    objs = [session, session.prefix_checks, session.sc, *session.kernel_class.__mro__]
    for name, module in list(sys.modules.items()):
        if name == "anonvma" or name.startswith("anonvma."):
            objs += [v for k, v in vars(module).items()
                     if type(v) not in _ATOMIC and k[:2] != "__"]
    # and a static lockdep map's key: the map's class is found by it
    objs.extend([v.key for v in objs if isinstance(v, lockdep_map)])
    return objs


def _dump(machine, shared: list) -> bytes:
    """The pickle of ``machine``, the objects of ``shared`` by reference:
    they are in the pickler's memo from the start, at their indices in
    ``shared`` (as in a ``_loader``'s), which costs nothing per object
    pickled, where a ``persistent_id`` is a call for each."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, pickle.HIGHEST_PROTOCOL)
    pickler.memo = {id(obj): (i, obj) for i, obj in enumerate(shared)}
    pickler.dump(machine)
    return buf.getvalue()


def _loader(snapshot: bytes, shared: list) -> pickle.Unpickler:
    """An unpickler of ``snapshot`` whose memo holds ``shared`` first.  (A
    memo cannot be set: the C unpickler's setter leaves the count of its
    entries, where the next object goes, at 0.)  A prelude pickle puts the
    objects there, each a persistent id memoized."""
    prelude = b"".join(b"J" + struct.pack("<i", i) + b"Q\x940" for i in range(len(shared)))
    unpickler = pickle.Unpickler(io.BytesIO(b"\x80\x04" + prelude + b"N." + snapshot))
    unpickler.persistent_load = shared.__getitem__
    unpickler.load()
    return unpickler


class Prefixed:
    """A session whose machines start after its sequential prefix.

    ``watch(machine)``, if given, attaches what else every machine carries
    (the zoo's detectors, cold.Watched) to each one booted, before it runs
    a step: to the snapshot's before the prefix, so that what it kept of
    the prefix is restored with the rest.  The object ``watch`` is bound
    to is shared with the restored machine, like the session."""

    def __init__(self, session, watch=None):
        self.session = session
        self.watch = watch
        self.machine = None                 # the restored machine, if the prefix could be snapshot
        self.shared: list = []              # what the snapshot pickles by reference
        self._restore: _Restore | None = None
        self._undo: list | None = None      # the shared lockdep registry's log
        until = max(session.prefix_checks, default=None)
        if until is None:
            return
        machine = self._boot()
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
        if watch is not None:
            objs.append(getattr(watch, "__self__", watch))
        lockdep = kernel.lockdep
        if lockdep is not None:
            objs += lockdep.share()
        # each once: its index in the list is its index in the memos
        objs = list({id(obj): obj for obj in objs}.values())
        try:
            snapshot = _dump(machine, objs)
        except (pickle.PicklingError, TypeError, AttributeError):
            return
        first, again = _loader(snapshot, objs), _loader(snapshot, objs)
        restored = first.load()
        again.load()
        made = _made(restored, first.memo.copy(), again.memo.copy())
        try:
            self._restore = _Restore(made, frozenset(session.kernel_class.__mro__))
        except _Unrestorable:
            return
        self.machine, self.shared = restored, objs
        if lockdep is not None:
            self._undo = restored.kernel.lockdep.undo

    def _boot(self):
        machine = self.session.boot()
        if self.watch is not None:
            self.watch(machine)
        return machine

    # What a program is to the runner: boot() gives a machine.
    def boot(self):
        if self.machine is None:
            return self._boot()
        if self._undo is not None:
            Lockdep.undo_run(self._undo)
        self._restore()
        return self.machine

    def __reduce__(self):
        # A worker process (explore --jobs) takes its own snapshot.
        return Prefixed, (self.session, self.watch)
