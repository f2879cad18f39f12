"""Hand-placed tasks on a virtual-time machine, for the lock timing tests:
an era's kernel, the scheduler with its costs (no jitter) and the timing
layer of its anon_vma lock."""

from __future__ import annotations

from anonvma.kernel.kernel.locking.mutex import mutex_lock, mutex_unlock
from anonvma.kernel.kernel.locking.spinlock import spin_lock, spin_unlock, spinlock_t
from anonvma.kernel.kernel.sched.core import task_struct
from anonvma.perf.costs import load_costs
from anonvma.perf.locks import LockTiming, lock_semantics
from anonvma.perf.sched import VirtualTimeScheduler
from anonvma.variants import get_variant

US = 1000.0


def machine(variant: str, nr_cpus: int, debug_locks: bool = False,
            cores_per_socket: int | None = None):
    cls = get_variant(variant)
    kernel = cls()
    kernel.spawn_init("P0")
    costs = load_costs()
    costs["jitter"] = 0
    if cores_per_socket is not None:
        costs["topology"]["cores_per_socket"] = cores_per_socket
    sched = VirtualTimeScheduler(kernel, costs, nr_cpus)
    timing = LockTiming(kernel, sched, lock_semantics(cls, debug_locks), debug_locks)
    kernel.sched = sched
    return kernel, sched, timing


def spawn(kernel, sched, name, fn, *args):
    task = task_struct(kernel.alloc_pid(), name)
    sched.spawn(task, fn, *args)
    return task


def spin_order(kernel, sched, arrivals) -> list:
    """Tasks that each come to the anon_vma spinlock at their time and hold
    it for theirs, ``arrivals`` = (name, arrive, hold) in spawn order (CPU
    order): the order they got it in."""
    lock = spinlock_t(kernel, kernel.anon_vma_lock_key)
    order = []

    def body(name, arrive, hold):
        sched.charge(kernel.current, arrive, "user")
        spin_lock(lock)
        order.append(name)
        sched.charge(kernel.current, hold, "user")
        spin_unlock(lock)

    for name, arrive, hold in arrivals:
        spawn(kernel, sched, name, body, name, arrive, hold)
    sched.run()
    return order


def mutex_body(kernel, sched, lock, got, released):
    """A task body that comes to ``lock`` at its time and holds it for
    its time, noting when it got and released it."""
    def body(name, arrive, hold):
        sched.charge(kernel.current, arrive, "user")
        mutex_lock(lock)
        got[name] = sched.clock[kernel.current]
        sched.charge(kernel.current, hold, "user")
        mutex_unlock(lock)
        released[name] = sched.clock[kernel.current]
    return body
