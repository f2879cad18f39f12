"""The tracepoint bus.

Everything observable leaves the model through here, under the kernel's own
tracepoint names (``kmem_cache_alloc``, ``lock_acquire``, ...).  Kernel code
only *fires* tracepoints; sinks, checkers, statistics and the live-kernel
comparison *subscribe*.  A tracepoint without probes costs one attribute load
and one truth test, like a static key that is off, so a run nobody watches
pays almost nothing.

    tracer = Tracer()
    tracer.kmem_cache_alloc.register(my_probe)
    ...
    tracer.kmem_cache_alloc(call_site, obj, cache, gfp)   # from kernel code

Probes get the tracepoint's arguments positionally; each tracepoint documents
them in ``TRACEPOINTS``.
"""

from __future__ import annotations

import sys
from typing import Callable

from .trace_tokens import (
    CLONE_CALLERS, INLINED, RMAP_CACHES, SITES, UNLINK_CALLERS, kernel_name,
)

# name -> argument list.  The kernel's TP_PROTO, in short.
TRACEPOINTS: dict[str, str] = {
    # include/trace/events/kmem.h
    "kmem_cache_alloc": "call_site, ptr, cache, gfp_flags  (ptr is None on failure)",
    "kmem_cache_free": "call_site, ptr, cache",
    "mm_page_alloc": "folio, order, gfp_flags  (folio is None on failure)",
    "mm_page_free": "folio, order",
    # mm/slub.c slab_out_of_memory(): a slab allocation failed (for every
    # failure here, __GFP_NOWARN or not), from the frame that called it
    "slab_out_of_memory": "call_site, cache, gfp_flags",
    # include/trace/events/lock.h (CONFIG_LOCKDEP / LOCK_STAT)
    "lock_acquire": "lock, subclass, trylock, read, ip",
    "lock_contended": "lock, ip",
    "lock_acquired": "lock, ip",
    "lock_release": "lock, ip",
    # mutex_is_locked(), rwsem_is_locked() of a lock the model has free: a
    # probe returning True says it is held at the caller's time (a timing
    # layer's view); the caller then does what it does for a held lock
    "lock_is_locked": "lock",
    # 2.6.30-4.13 lockdep hooks, which those kernels called directly
    # (lockdep_trace_alloc, lockdep_set/clear_current_reclaim_state; gfp 0
    # clears): tracepoints here, so that the checker stays outside the kernel
    "lockdep_trace_alloc": "gfp_mask",
    "lockdep_reclaim_state": "gfp_mask",
    # include/trace/events/sched.h
    "sched_process_fork": "parent, child",
    "sched_process_exit": "task",
    "sched_switch": "prev, next",
    # include/trace/events/exceptions.h
    "page_fault_user": "task, address, write",
    # include/trace/events/mmap.h
    "exit_mmap": "mm",
    # include/trace/events/vmscan.h
    "mm_vmscan_direct_reclaim_begin": "order, gfp_flags",
    "mm_vmscan_direct_reclaim_end": "nr_reclaimed",
    "mm_vmscan_wakeup_kswapd": "order, gfp_flags",
    # reports of the debugging facilities (lockdep, KASAN, VM_BUG_ON, hung tasks)
    "report": "kind, text",
    # user space: what the scenario's processes print or die of
    "user_maps": "task, lines",
    "user_error": "task, op, err",
    # the scenario session: a step (Line or Together) finished; the scenario
    # ended, every process exited
    "scenario_step": "step",
    "scenario_end": "",
}


class Tracepoint:
    """One tracepoint; calling it runs every registered probe in order."""

    __slots__ = ("name", "probes")

    def __init__(self, name: str):
        self.name = name
        self.probes: tuple[Callable, ...] = ()

    def __call__(self, *args) -> None:
        for probe in self.probes:
            probe(*args)

    def __bool__(self) -> bool:
        return bool(self.probes)

    def register(self, probe: Callable) -> None:
        self.probes = self.probes + (probe,)

    def unregister(self, probe: Callable) -> None:
        self.probes = tuple(p for p in self.probes if p is not probe)


class Tracer:
    """All tracepoints of one simulated kernel, as attributes."""

    def __init__(self):
        for name in TRACEPOINTS:
            setattr(self, name, Tracepoint(name))

    def tracepoint(self, name: str) -> Tracepoint:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(f"no tracepoint named {name!r}") from None


def kernel_stack(skip: int = 1, limit: int = 32) -> list[str]:
    """The names of the Python functions on the current stack, innermost first.

    The model keeps kernel function names, so this is what the kernel's
    ``stacktrace`` trigger shows: sinks use it to tell callers apart exactly
    as the live-kernel oracle does with its stack traces.  Only sinks that
    need it pay for it.
    """
    frame = sys._getframe(skip)
    names = []
    while frame is not None and len(names) < limit:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names


# -- the trace lines of docs/scenario-format.md ---------------------------------------------

def _free_sites(code) -> list[int]:
    """The source lines of ``code`` that free an anon_vma_chain, in order: the
    model's version of telling unlink_anon_vmas()'s two loops apart by the
    order of their call-site offsets."""
    import dis
    lines, line = [], None
    for ins in dis.get_instructions(code):
        if ins.starts_line is not None:
            line = ins.starts_line
        if ins.argval == "anon_vma_chain_free" and line not in lines:
            lines.append(line)
    return sorted(lines)


_free_sites_cache: dict = {}


def _caller(frame):
    """The first frame outside ``frame`` that the kernel does not inline."""
    frame = frame.f_back
    while frame is not None and frame.f_code.co_name in INLINED:
        frame = frame.f_back
    return frame


def rmap_call_site(call_site) -> str:
    """The trace token of an rmap allocation or free made from ``call_site``
    (the frame that called kmem_cache_alloc/free): ``prep``, ``clone/fork``,
    ``u2/pgt``, ``put``...; ``?fn`` for a call site the format does not know."""
    frame = call_site
    while frame is not None and frame.f_code.co_name in INLINED:
        frame = frame.f_back
    if frame is None:
        return "?"
    fn = kernel_name(frame.f_code.co_name)
    site = SITES.get(fn)
    if site is None:
        return f"?{fn}"
    if site == "u":
        sites = _free_sites_cache.get(frame.f_code)
        if sites is None:
            sites = _free_sites_cache[frame.f_code] = _free_sites(frame.f_code)
        site = f"u{sites.index(frame.f_lineno) + 1}" if frame.f_lineno in sites else "u?"
    if site in ("clone", "u1", "u2", "u?"):
        caller = _caller(frame)
        name = kernel_name(caller.f_code.co_name) if caller is not None else "?"
        if site == "clone":
            site += "/" + CLONE_CALLERS.get(name, name)
        else:
            site += "/" + UNLINK_CALLERS.get(name, "err")
    return site


def rmap_cache_kind(cache) -> str | None:
    """``AV`` or ``AVC`` for the two rmap caches, None for any other."""
    return RMAP_CACHES.get(cache.name)


class TraceLines:
    """The sink that writes the fixed trace lines, one per event, in the
    order the events happen: object events (allocations and frees in the
    anon_vma and anon_vma_chain caches) and what user space saw (maps
    lines, failures).  ``events`` and ``others`` are the two streams that a
    comparison with the live kernel looks at separately.

    Objects get numbers per kind in order of first allocation; objects freed
    that were allocated before the sink attached are ``AVpreN``/``AVCpreN``.
    """

    def __init__(self, kernel):
        self.kernel = kernel
        self.lines: list[str] = []
        self._is_event: list[bool] = []
        self._names: dict = {}
        self._count = {"AV": 0, "AVC": 0, "AVpre": 0, "AVCpre": 0}
        trace = kernel.trace
        trace.kmem_cache_alloc.register(self._alloc)
        trace.kmem_cache_free.register(self._free)
        trace.user_maps.register(self._maps)
        trace.user_error.register(self._error)

    @property
    def events(self) -> list[str]:
        return [line for line, event in zip(self.lines, self._is_event) if event]

    @property
    def others(self) -> list[str]:
        return [line for line, event in zip(self.lines, self._is_event) if not event]

    def _add(self, line: str, event: bool) -> None:
        self.lines.append(line)
        self._is_event.append(event)

    def name_of(self, obj) -> str:
        """The trace's name for a live rmap object: ``AV3``, or ``AVpre`` for
        one that existed before the trace began (the first stack's)."""
        return self._names.get(obj, "AVpre")

    def _process(self) -> str:
        return self.kernel.current.comm

    def _alloc(self, call_site, obj, cache, gfp) -> None:
        kind = RMAP_CACHES.get(cache.name)
        if kind is None:
            return
        token = rmap_call_site(call_site)
        if obj is None:
            self._add(f"{self._process()} !{kind}:{token}", True)
            return
        self._count[kind] += 1
        name = f"{kind}{self._count[kind]}"
        self._names[obj] = name
        self._add(f"{self._process()} +{name}:{token}", True)

    def _free(self, call_site, obj, cache) -> None:
        kind = RMAP_CACHES.get(cache.name)
        if kind is None:
            return
        name = self._names.pop(obj, None)
        if name is None:
            self._count[kind + "pre"] += 1
            name = f"{kind}pre{self._count[kind + 'pre']}"
        self._add(f"{self._process()} -{name}:{rmap_call_site(call_site)}", True)

    def _maps(self, proc, lines) -> None:
        for line in lines:
            self._add(f"{proc} maps {line}", False)

    def _error(self, proc, op, err) -> None:
        self._add(f"{proc} !{op} {err}", False)
