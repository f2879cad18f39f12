"""The model of Linux 6.18, laid out like the kernel tree.

Each kernel source file is a module holding one mixin class whose methods are
that file's functions, under their kernel names; ``Linux`` puts them
together.  Kernel globals (the slab caches, the LRU, the current task) are
attributes of the ``Linux`` instance, so several kernels can live side by
side, and a historical era or a user's patch is a subclass that overrides
exactly the functions it changes (see ``anonvma.variants``).
"""

from __future__ import annotations

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


class Linux(Rmap, Vma, VmaInit, Mmap, MmapLock, Memory, Mprotect, Mremap, Madvise, Gup, Mlock,
            Mseal, Mempolicy, UserfaultfdMm, Userfaultfd, Vmscan, Swap, Swapfile, Filemap, PageAlloc, Slub, Fork, Exit, Exec,
            Sys, TaskMmu, Fault, ArchMmap, SysX86_64, Rcu, Bug):
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
    rmap_layout = "interval_tree"
    rmap_counters = "num_children"
    anon_vma_lock = "rwsem"
    lockdep_flavour = "fs_reclaim"
    chain_root_last = True
    # PREEMPT_DYNAMIC's preempt= mode (sched_dynamic_update): "none", the
    # live kernel's boot default, or "full"
    preempt_dynamic_mode = "none"
    # What the kernel's functions read on every call, in slots.  The kernel
    # object has more attributes than CPython shares the keys of in an
    # instance dict (30 in 3.11); past that its dict becomes an ordinary one,
    # and no method call on it (``self.anon_vma_fork(...)``, every kernel
    # function call) can be specialised by the interpreter any more.  The
    # rest, and whatever eras and sessions add, stay in the dict.
    __slots__ = ("trace", "current", "lockdep", "failslab", "warned_once", "slab_caches",
                 "lru", "tasks", "last_pid", "next_pfn", "nr_folios", "zone", "swap_info",
                 "mmap_lock_key", "page_table_lock_key", "anon_vma_rwsem_key",
                 "anon_vma_cachep", "anon_vma_chain_cachep", "vm_area_cachep", "zero_folio")

    def __init__(self, tracer: Tracer | None = None, memory: int = DEFAULT_PAGES, swap: int = 0):
        """A booted kernel with ``memory`` pages in its zone and ``swap``
        slots of swap; the defaults are the machine the traces come from."""
        self.trace = tracer or Tracer()
        self.kswapd_task = None         # started at the first wakeup
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
