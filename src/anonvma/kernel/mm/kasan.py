"""KASAN (mm/kasan/): use-after-free detection on the slab caches.

The kernel keeps shadow memory and checks it at every access; the model
checks nothing on the fast path.  Freeing an object swaps its class for a
*poisoned* subclass of it (same slots, so the swap is legal) whose
attribute accesses report; allocating it again swaps the class back.  A
kernel without KASAN attached never swaps anything: its objects, and its
``kmem_cache_alloc``/``kmem_cache_free``, are what they were.

A report names what the kernel's does (mm/kasan/report.c): the bug type
and the function that made the access, "Read of size 8 at addr ... by task
COMM/PID", the access stack, the stacks and tasks that allocated and freed
the object, and its cache.  Like a kernel without ``kasan_multi_shot``,
KASAN reports the first bad access only.

SLAB_TYPESAFE_BY_RCU caches (anon_vma): their memory stays an object of
the cache until a grace period after its slab is freed, so a reader that
was inside an RCU read section when an object was freed may still read it,
and that is not a use-after-free; once the slot is handed out again it is
an object again, whoever still looks at it as the old one.  The slot is
reused at once (LIFO), as SLUB does without CONFIG_SLUB_RCU_DEBUG; until
it is, KASAN reports what CONFIG_SLUB_RCU_DEBUG (6.12) reports after the
free's grace period: an access by any task but the readers that grace
period waits for.  A reader that uses a reused slot as if it were still
its object is found by what that breaks (lockdep's "bad unlock balance",
a hung task), as on the kernel.

Only the kernel's own accesses are reported: the checkers and the pictures
read freed objects on purpose (``kasan_disable_current()`` in the kernel).

KASAN's records are keyed by the objects (which the slab never drops), so
that a snapshot of the machine (explore.prefix, the zoo's runs after a
program's prefix) takes them along; a freed object pickles as an object of
its cache's class and is poisoned again as it is loaded.
"""

from __future__ import annotations

import copyreg
import sys

from ...trace import Tracer
from .slub import SLAB_TYPESAFE_BY_RCU

KASAN_BASE = 0xffff888100000000
# Where the model's code lives: accesses from any other file are the
# checkers' and the tools'.
_KERNEL_FILES = (f"{__package__.rsplit('.', 1)[0].replace('.', '/')}/",
                 "anonvma/variants/")


def _is_kernel(code) -> bool:
    name = code.co_filename.replace("\\", "/")
    return any(part in name for part in _KERNEL_FILES)


def _kernel_name(name: str) -> str:
    """The model spells a kernel ``__name`` ``_name``."""
    return "_" + name if name.startswith("_") and not name.startswith("__") else name


def _stack(frame) -> list[str]:
    out = []
    while frame is not None:
        if _is_kernel(frame.f_code):
            out.append(_kernel_name(frame.f_code.co_name))
        frame = frame.f_back
    return out


class Kasan:
    """KASAN attached to one kernel: the shadow is the objects' class."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.reported = False
        self.addr: dict = {}                    # object -> its address
        self.alloc_info: dict = {}              # object -> (task, stack)
        self.free_info: dict = {}
        self.gp_readers: dict = {}              # object -> rcu readers at its free
        self.poisoned: dict[type, type] = {}
        self.next_addr = KASAN_BASE
        trace: Tracer = kernel.trace
        trace.kmem_cache_alloc.register(self.unpoison)
        trace.kmem_cache_free.register(self.poison)

    def _task(self) -> tuple[str, int]:
        cur = self.kernel.current
        return (cur.comm, cur.pid) if cur is not None else ("swapper", 0)

    def __reduce__(self):
        # the poisoned classes are made again as the freed objects load
        return _unpickled_kasan, (), {k: v for k, v in vars(self).items() if k != "poisoned"}

    def _poisoned_class(self, cls: type, typesafe: bool) -> type:
        poisoned = self.poisoned.get(cls)
        if poisoned is None:
            kasan = self

            def bad_access(obj, name: str) -> bool:
                if name == "freed" or kasan.reported:
                    return False
                if typesafe:
                    # a reader of the free's grace period, still in its section
                    section = kasan.gp_readers[obj].get(kasan.kernel.current)
                    if section is not None and \
                            kasan.kernel.rcu_state.readers.get(kasan.kernel.current) == section:
                        return False
                return True

            def __getattribute__(obj, name):
                if bad_access(obj, name):
                    frame = sys._getframe(1)
                    if _is_kernel(frame.f_code):
                        kasan.report(obj, cls, name, "Read", frame)
                return object.__getattribute__(obj, name)

            def __setattr__(obj, name, value):
                if bad_access(obj, name):
                    frame = sys._getframe(1)
                    if _is_kernel(frame.f_code):
                        kasan.report(obj, cls, name, "Write", frame)
                object.__setattr__(obj, name, value)

            def __reduce_ex__(obj, protocol):
                state = {name: value for name in copyreg._slotnames(cls)
                         if (value := _slot(obj, name)) is not _UNSET}
                return kasan._freed_object, (cls, typesafe), state, None, None, _set_slots

            poisoned = type(cls.__name__, (cls,), {
                "__slots__": (), "__getattribute__": __getattribute__,
                "__setattr__": __setattr__, "__reduce_ex__": __reduce_ex__,
                "__module__": cls.__module__})
            self.poisoned[cls] = poisoned
        return poisoned

    def unpoison(self, call_site, obj, cache, gfp) -> None:
        if obj is None:
            return
        cls = type(obj)
        if cls is not cache.object_type:
            object.__setattr__(obj, "__class__", cache.object_type)
        if obj not in self.addr:
            self.addr[obj] = self.next_addr
            self.next_addr += -(-cache.object_size // 64) * 64
        self.alloc_info[obj] = (self._task(), _stack(call_site))
        self.free_info.pop(obj, None)

    def poison(self, call_site, obj, cache) -> None:
        self.free_info[obj] = (self._task(), _stack(call_site))
        typesafe = bool(cache.flags & SLAB_TYPESAFE_BY_RCU)
        if typesafe:
            # the readers a grace period starting now would wait for
            self.gp_readers[obj] = dict(self.kernel.rcu_state.readers)
        obj.__class__ = self._poisoned_class(cache.object_type, typesafe)

    def _freed_object(self, cls: type, typesafe: bool):
        """A freed object of ``cls`` as a snapshot loads it: poisoned."""
        return object.__new__(self._poisoned_class(cls, typesafe))

    def report(self, obj, cls: type, field: str, access: str, frame) -> None:
        self.reported = True
        cache = next(c for c in self.kernel.slab_caches if c.object_type is cls)
        base = self.addr.get(obj, KASAN_BASE)
        slots = cls.__slots__
        offset = 8 * slots.index(field) if field in slots else 0
        stack = _stack(frame)
        comm, pid = self._task()
        lines = ["=" * 66,
                 f"BUG: KASAN: slab-use-after-free in {stack[0]}",
                 f"{access} of size 8 at addr {base + offset:x} by task {comm}/{pid}",
                 "", "Call Trace:", " <TASK>", *(f" {fn}" for fn in stack), " </TASK>", ""]
        for what, info in (("Allocated", self.alloc_info.get(obj)),
                           ("Freed", self.free_info.get(obj))):
            if info is not None:
                (tcomm, tpid), fns = info
                lines += [f"{what} by task {tpid} ({tcomm}):", *(f" {fn}" for fn in fns), ""]
        lines += [f"The buggy address belongs to the object at {base:x}",
                  f" which belongs to the cache {cache.name} of size {cache.object_size}",
                  f"The buggy address is located {offset} bytes inside of",
                  f" freed {cache.object_size}-byte region [{base:x}, "
                  f"{base + cache.object_size:x})",
                  f"(the field {cls.__name__}->{field})",
                  "=" * 66]
        self.kernel.trace.report("kasan", "\n".join(lines) + "\n")


_UNSET = object()


def _slot(obj, name: str):
    try:
        return object.__getattribute__(obj, name)
    except AttributeError:
        return _UNSET


def _set_slots(obj, state: dict) -> None:
    """A loaded freed object's slots, set past its poisoned ``__setattr__``."""
    for name, value in state.items():
        object.__setattr__(obj, name, value)


def _unpickled_kasan() -> Kasan:
    kasan = Kasan.__new__(Kasan)
    kasan.poisoned = {}
    return kasan


def kasan_init(kernel) -> Kasan:
    """CONFIG_KASAN for this kernel: from now on, frees poison."""
    return Kasan(kernel)
