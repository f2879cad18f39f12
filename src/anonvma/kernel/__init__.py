"""The model of Linux 6.18, laid out like the kernel tree.

Each kernel source file is a module holding one mixin class whose methods are
that file's functions, under their kernel names; ``Linux`` puts them
together.  Kernel globals (the slab caches, the LRU, the current task) are
attributes of the ``Linux`` instance, so several kernels can live side by
side, and a historical era or a user's patch is a subclass that overrides
exactly the functions it changes (see ``anonvma.variants``).

A kernel object has no ``__dict__``: every attribute is a slot.  CPython
3.11 specialises a method call (``self.anon_vma_fork(...)``, every kernel
function call) only on an object whose dict was never materialised, and
unpickling the prefix snapshot and putting it back after each run
(explore.prefix) materialise it.  The mixins declare no slots of their own
(``__slots__ = ()``); the slots of ``Linux`` and of each era's class are
the attributes their methods, and their mixins', store on ``self``
(``_KernelType``).
"""

from __future__ import annotations

import dis
import types

from ..trace import Tracer
from .arch.x86.kernel.sys_x86_64 import SysX86_64
from .arch.x86.mm.fault import Fault
from .arch.x86.mm.mmap import ArchMmap
from .fs.exec import Exec
from .fs.proc.task_mmu import TaskMmu
from .fs.userfaultfd import Userfaultfd
from .include.bug import Bug
from .include.mm import DEFAULT_MAX_MAP_COUNT
from .kernel.exit import Exit
from .kernel.fork import Fork
from .kernel.locking.lock import lock_class_key
from .kernel.rcu.tree import Rcu
from .kernel.sys import Sys
from .kernel.sched.core import SequentialScheduler, task_struct
from .mm.filemap import Filemap
from .mm.gup import Gup
from .mm.madvise import Madvise
from .mm.memory import Memory
from .mm.mempolicy import Mempolicy
from .mm.mm_types import folio
from .mm.mmap import Mmap
from .mm.mlock import Mlock
from .mm.mmap_lock import MmapLock
from .mm.mprotect import Mprotect
from .mm.mremap import Mremap
from .mm.mseal import Mseal
from .mm.page_alloc import DEFAULT_PAGES, PageAlloc
from .mm.rmap import Rmap
from .mm.slub import Slub
from .mm.swap import Swap
from .mm.swapfile import Swapfile
from .mm.vma import Vma
from .mm.vma_init import VmaInit
from .mm.userfaultfd import UserfaultfdMm
from .mm.vmscan import Vmscan


def _preempt_none() -> None:
    """preempt=none: an interrupt returns to the task it interrupted."""


_LOAD_SELF = {dis.opmap["LOAD_FAST"], dis.opmap["LOAD_DEREF"]}
_STORE_ATTR = dis.opmap["STORE_ATTR"]


def stored_on_self(functions) -> set[str]:
    """The attribute names ``functions`` (and the functions nested in them)
    assign on ``self``: a STORE_ATTR right after ``self`` is loaded."""
    names = set()
    codes = [f.__code__ for f in functions]
    while codes:
        code = codes.pop()
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        raw, local = code.co_code, code._varname_from_oparg
        for i in range(0, len(raw) - 2, 2):
            if raw[i + 2] == _STORE_ATTR and raw[i] in _LOAD_SELF and local(raw[i + 1]) == "self":
                names.add(code.co_names[raw[i + 3]])
    return names


def methods(namespace) -> list:
    """The functions of a class namespace, property accessors included."""
    out = []
    for v in namespace.values():
        if isinstance(v, property):
            out += [f for f in (v.fget, v.fset, v.fdel) if f is not None]
        elif isinstance(v, types.FunctionType):
            out.append(v)
    return out


class _KernelType(type):
    """The type of ``Linux``, whose slots are listed by hand, and of its
    eras: an era's class of this package without ``__slots__`` gets one for
    each attribute its own methods store on ``self`` that no base has a slot
    or property for.  Should such an attribute also be a plain class
    attribute of a base (a default an instance may override), the class
    keeps a ``__dict__``: correct, only slower.  A user's patch (a module
    outside the package) keeps its ``__dict__`` too: whatever it stores works."""

    def __new__(mcls, name, bases, namespace, **kwargs):
        if "__slots__" not in namespace and namespace.get("__module__", "").startswith("anonvma."):
            settable, plain = set(), set()
            for klass in {k for base in bases for k in base.__mro__}:
                for attr, v in vars(klass).items():
                    if isinstance(v, (types.MemberDescriptorType, property)):
                        settable.add(attr)
                    else:
                        plain.add(attr)
            new = sorted(stored_on_self(methods(namespace)) - settable)
            conflict = plain.union(namespace).intersection(new)
            namespace["__slots__"] = (*new, "__dict__") if conflict else tuple(new)
        return super().__new__(mcls, name, bases, namespace, **kwargs)


class Linux(Rmap, Vma, VmaInit, Mmap, MmapLock, Memory, Mprotect, Mremap, Madvise, Gup, Mlock,
            Mseal, Mempolicy, UserfaultfdMm, Userfaultfd, Vmscan, Swap, Swapfile, Filemap, PageAlloc, Slub, Fork, Exit, Exec,
            Sys, TaskMmu, Fault, ArchMmap, SysX86_64, Rcu, Bug, metaclass=_KernelType):
    """Linux 6.18, as far as anonymous memory and its reverse map go."""

    name = "v6.18"
    description = "today's kernel: rwsem, interval tree, anon_vma reuse with num_children/num_active_vmas"
    # What an era is made of, for the code outside the kernel that must know
    # it (invariant checks, lockdep, the performance model); every era class
    # declares its own values.
    #   rmap_layout      "interval_tree" (3.7+) or "list" (anon_vma->head)
    #   rmap_counters    "num_children" (6.0+: num_children, num_active_vmas),
    #                    "degree" (3.19-5.19) or None (no reuse counters)
    #   anon_vma_lock    "rwsem" (3.8+), "mutex" (3.0-3.7) or "spinlock"
    #   lockdep_flavour  "fs_reclaim" (4.14+) or "reclaim_fs" (the usage state)
    #   chain_root_last  anon_vma_clone() keeps the root at the tail of every
    #                    chain (False from 7.0, whose clone reverses the chain)
    # Every attribute of the kernel object (see the module's docstring);
    # tests/kernel/test_kernel_object.py checks that the methods store no other.
    __slots__ = ("trace", "current", "lockdep", "failslab", "warned_once", "slab_caches",
                 "lru", "tasks", "last_pid", "next_pfn", "nr_folios", "zone", "swap_info",
                 "mmap_lock_key", "page_table_lock_key", "anon_vma_rwsem_key",
                 "anon_vma_cachep", "anon_vma_chain_cachep", "vm_area_cachep", "zero_folio",
                 "sysctl_max_map_count", "sysctl_overcommit_memory", "rcu_state",
                 "fs_reclaim_lockdep_map", "kswapd_wait", "kswapd_task",
                 "_sched", "might_sleep", "cond_resched", "preempt_dynamic_mode",
                 "preempt_schedule_irq",
                 "__weakref__")     # tests and tools watch a machine die
    rmap_layout = "interval_tree"
    rmap_counters = "num_children"
    anon_vma_lock = "rwsem"
    lockdep_flavour = "fs_reclaim"
    chain_root_last = True

    def __init__(self, tracer: Tracer | None = None, memory: int = DEFAULT_PAGES, swap: int = 0):
        """A booted kernel with ``memory`` pages in its zone and ``swap``
        slots of swap; the defaults are the machine the traces come from."""
        self.trace = tracer or Tracer()
        self.kswapd_task = None         # started at the first wakeup
        # PREEMPT_DYNAMIC's preempt= mode (sched_dynamic_update): "none", the
        # live kernel's boot default, or "full"
        self.preempt_dynamic_mode = "none"
        self.sched = SequentialScheduler(self)
        self.lockdep = None             # set by the lockdep checker when it attaches
        self.failslab = None            # set when fault injection is configured
        self.sysctl_max_map_count = DEFAULT_MAX_MAP_COUNT
        self.sysctl_overcommit_memory = 0      # heuristic overcommit, the default
        self.warned_once: set[str] = set()
        self.rcu_init()
        self.slab_caches = []
        self.lru: dict = {}
        self.tasks: list[task_struct] = []
        self.last_pid = 0
        self.next_pfn = 0
        self.nr_folios = 0
        self.page_alloc_init(memory)
        self.swap_init(swap)
        self.mmap_lock_key = lock_class_key("&mm->mmap_lock")
        self.page_table_lock_key = lock_class_key("&mm->page_table_lock")
        self.anon_vma_init()
        self.vma_state_init()
        # The shared zero page: never anonymous, never freed.
        self.zero_folio = folio(0)
        self.current = None
        self.kswapd_wait = False

    # -- the scheduler's hooks (include/linux/kernel.h, sched.h) ---------------------

    @property
    def sched(self):
        return self._sched

    @sched.setter
    def sched(self, scheduler) -> None:
        """Install a scheduler.  ``might_sleep`` and ``cond_resched`` become its
        own methods: the kernel calls them at every allocation, lock and loop,
        and a sequential run should pay one call for each, not two."""
        self._sched = scheduler
        self.might_sleep = scheduler.might_sleep
        self.cond_resched = scheduler.cond_resched
        self.sched_dynamic_update(self.preempt_dynamic_mode)
        # kernel threads belong to the scheduler that runs them: one that
        # goes on with the tasks of the one before (explore.prefix: a run
        # after the snapshot of its prefix) runs the kswapd started there
        if self.kswapd_task not in getattr(scheduler, "tasks", ()):
            self.kswapd_task = None

    def sched_dynamic_update(self, mode: str) -> None:
        """kernel/sched/core.c: the ``preempt=`` mode of a PREEMPT_DYNAMIC
        kernel.  Under "full" a task may be preempted wherever preemption
        is enabled, inside RCU read sections too (PREEMPT_RCU).  The model
        offers that preemption, ``preempt_schedule_irq()`` (an interrupt
        returning to a preemptible kernel), where a task inside a read
        section has loaded RCU-protected pointers and is about to act on
        them: the lookups of rmap.  Under "none" it is no switch at all."""
        self.preempt_dynamic_mode = mode
        self.preempt_schedule_irq = self._sched.yield_ if mode == "full" \
            else _preempt_none

    # -- processes ----------------------------------------------------------------------

    def spawn_init(self, comm: str) -> task_struct:
        """The first process: a program just exec'ed, with its stack."""
        tsk = task_struct(self.alloc_pid(), comm)
        self.tasks.append(tsk)
        self.current = tsk
        self.do_execve()
        return tsk
