"""kernel/hung_task.c: the report of tasks that can never run again.

The kernel's khungtaskd notices a task in D state that has not run for
``hung_task_timeout_secs`` and prints it, with the lock it is blocked on and
the task that likely owns it (CONFIG_DETECT_HUNG_TASK_BLOCKER), and with
every lock held in the system (``debug_show_all_locks``).  The model needs
no timeout: the scheduler calls ``check_hung_tasks`` the moment every task is
blocked, which is exactly when they are all blocked forever.  On top of the
kernel's text the report names the cycle of tasks waiting for each other.
"""

from __future__ import annotations

from .locking.lockdep import held_locks, stack_from

HUNG_TASK_TIMEOUT_SECS = 120


def is_lock(obj) -> bool:
    """A wait on a lock can only end when its holder releases it; a daemon
    waiting on a wait queue (kswapd_wait) is idle, not hung."""
    return hasattr(obj, "wait_list")


def _kind(lock) -> str:
    name = type(lock).__name__
    return {"mutex": "a mutex", "rw_semaphore": "an rw-semaphore",
            "spinlock_t": "a spinlock"}.get(name, "a wait queue")


def _who(task) -> str:
    return f"{task.comm}:{task.pid}"


def waits_for(task) -> list:
    """The tasks ``task`` waits for: the holders of the lock it is blocked
    on, and the waiters queued before it, who will be served first."""
    lock = task.blocked_on
    if lock is None:
        return []
    holders = lock.holders() if hasattr(lock, "holders") else []
    ahead = []
    for waiter in getattr(lock, "wait_list", ()):
        if waiter.task is task:
            break
        ahead.append(waiter.task)
    out = []
    # The task itself last: a reader blocked behind a queued writer "waits
    # for itself" too, but the writer is the more telling edge.
    for t in [h for h in holders if h is not task] + ahead + [h for h in holders if h is task]:
        if t not in out:
            out.append(t)
    return out


def find_cycle(tasks) -> list:
    """A cycle in the waits-for graph among ``tasks`` (a list of tasks, the
    first repeated at the end), or [] if there is none."""
    state: dict = {}
    path: list = []

    def visit(t):
        state[t] = 1
        path.append(t)
        for u in waits_for(t):
            if state.get(u) == 1:
                return path[path.index(u):] + [u]
            if u not in state:
                found = visit(u)
                if found:
                    return found
        path.pop()
        state[t] = 2
        return None

    for t in tasks:
        if t not in state:
            found = visit(t)
            if found:
                return found
    return []


# Frames of the model's lock helpers, and the kernel functions they are.
_INLINE = frozenset({"_lock", "_trylock"})


def task_stack(kernel, task) -> list[str]:
    """sched_show_task(): the blocked task's call trace, innermost first,
    from ``schedule`` out to its kernel entry point."""
    frame = kernel.sched.task_frame(task)
    lock = task.blocked_on
    names = ["__schedule", "schedule"]
    for name in stack_from(frame):
        if name in _INLINE:
            continue
        if name == "_slowpath" and is_lock(lock):
            mine = next((w for w in lock.wait_list if w.task is task), None)
            name = lock.slowpath_name(mine is not None and mine.read)
        names.append(name)
    return names


def check_hung_tasks(kernel, tasks) -> str:
    # Like khungtaskd, only D-state waits count: an idle kernel thread
    # sleeping on its wait queue is not hung.
    blocked = [t for t in tasks if t.blocked_on is not None
               and (not t.daemon or is_lock(t.blocked_on))]
    out = []
    for t in blocked:
        lock = t.blocked_on
        out.append(f"INFO: task {_who(t)} blocked for more than {HUNG_TASK_TIMEOUT_SECS} seconds.")
        out.append("      Not tainted (anonvma model)")
        out.append('"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.')
        out.append(f"task:{t.comm:<15} state:D pid:{t.pid:<5} flags:{t.flags:#010x}")
        out.append("Call Trace:")
        out.append(" <TASK>")
        out.extend(f" {name}" for name in task_stack(kernel, t))
        out.append(" </TASK>")
        holders = lock.holders() if is_lock(lock) else []
        name = getattr(lock, "name", lock)
        if holders:
            how = "reader" if getattr(lock, "readers", 0) else "writer"
            mode = ""
            if type(lock).__name__ == "rw_semaphore":
                mine = next((w for w in lock.wait_list if w.task is t), None)
                mode = " <reader>" if mine is not None and mine.read else " <writer>"
            for h in holders:
                tail = f" <{how}>" if mode else ""
                out.append(f"INFO: task {_who(t)}{mode} is blocked on {_kind(lock)} "
                           f"({name}) likely owned by task {_who(h)}{tail}.")
        else:
            out.append(f"INFO: task {_who(t)} is waiting on {_kind(lock)} ({name})")
    cycle = find_cycle(blocked)
    out.append("")
    if cycle:
        out.append("Deadlock: these tasks wait for each other:")
        for a, b in zip(cycle, cycle[1:]):
            lock = a.blocked_on
            holders = lock.holders()
            if b in holders:
                role = "held for read by" if getattr(lock, "readers", 0) else "held by"
            else:
                role = "queued before it:"
            out.append(f"  {_who(a)} waits for {lock.name} {role} {_who(b)}")
    else:
        out.append("Deadlock: every task is blocked, with no cycle among them "
                   "(a lock held by a task that will not release it).")
    out.append("")
    out.append("Showing all locks held in the system:")
    lockdep = kernel.lockdep
    if lockdep is not None:
        for t in tasks:
            if t.lockdep_depth:
                n = t.lockdep_depth
                out.append(f"{n} lock{'s' if n > 1 else ''} held by {t.comm}/{t.pid}:")
                out.extend(f" #{i}: {lockdep.format_held_lock(h)}"
                           for i, h in enumerate(held_locks(t)))
    else:
        # Without lockdep the kernel has no held-lock stacks to show; the
        # locks the blocked tasks wait on still name their holders.
        seen = []
        for t in blocked:
            lock = t.blocked_on
            if is_lock(lock) and lock not in seen:
                seen.append(lock)
                holders = ", ".join(_who(h) for h in lock.holders()) or "nobody"
                out.append(f" {lock.name} ({_kind(lock)}) held by {holders}")
        out.append(" (lockdep is off: held-lock stacks are not tracked)")
    out.append("")
    out.append("=============================================")
    return "\n".join(out) + "\n"
