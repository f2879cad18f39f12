"""A run as a timeline that Perfetto's UI (ui.perfetto.dev) opens.

    recorder = TimelineRecorder(machine.kernel)     # before machine.run()
    machine.run()
    write_timeline(recorder.finish(), "run.json")   # or run.pftrace

A timeline is a list of ``(time, task, Event)`` in time order: ``task`` is
the name of the task it happened in (``P1:2``, comm and pid), ``Event`` a
slice's begin or end, or an instant.  The writers take any such list, so
any clock can feed them: the recorder's default clock counts the events it
hears (one tick per event, so a step of the scheduler is a tick), and a
clock of virtual time can be given instead.

What the recorder hears on the tracepoint bus, per task:

- a lock: ``wait LOCK`` from lock_acquire or lock_contended to
  lock_acquired, ``hold LOCK`` from then (or from an uncontended
  lock_acquire) to lock_release;
- ``direct reclaim``, mm_vmscan_direct_reclaim_begin to _end;
- instants: each slab allocation (kmem_cache_alloc: cache, GFP flags,
  whether it failed), each user page fault (page_fault_user), each context
  switch (sched_switch), and every report of the debugging facilities
  (lockdep, hung task, invariant...), the last also on the global track.

Each task's slices must nest, as both formats require of one track; locks
are not always released in the order they were taken, so releasing a lock
below the top of the task's stack ends the slices above it and begins them
again (``continued``).  A slice still open at the end (a task that waited
for ever: a deadlock) ends at the last tick, marked ``unfinished``.

Two formats: Chrome's trace-event JSON (``.json``; ``ts`` in microseconds,
one per tick) and Perfetto's protobuf trace (``.pftrace``; nanoseconds, a
thousand per tick, so the two show the same picture), written with the
``perfetto`` package's protos.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..kernel.include.gfp import gfp_name

BEGIN, END, INSTANT = "B", "E", "i"
TIMELINE_SUFFIXES = (".json", ".pftrace")
GLOBAL = ""             # the task name of the global track (reports)


@dataclass(frozen=True)
class Event:
    phase: str                  # BEGIN, END or INSTANT
    name: str
    category: str               # lock, reclaim, alloc, fault, sched, report
    args: dict = field(default_factory=dict, compare=False)


class TimelineRecorder:
    """Listens to one kernel's bus and keeps its timeline; ``clock()``
    gives the time of an event (default: the number of events so far)."""

    def __init__(self, kernel, clock: Callable[[], int] | None = None):
        self.kernel = kernel
        self.events: list[tuple[int, str, Event]] = []
        self._ticks = 0
        self.clock = clock or self._tick
        self._open: dict[str, list[Event]] = {}        # task -> its open slices, innermost last
        trace = kernel.trace
        self.probes = [
            (trace.lock_acquire, self._lock_acquire),
            (trace.lock_contended, self._lock_contended),
            (trace.lock_acquired, self._lock_acquired),
            (trace.lock_release, self._lock_release),
            (trace.mm_vmscan_direct_reclaim_begin, self._reclaim_begin),
            (trace.mm_vmscan_direct_reclaim_end, self._reclaim_end),
            (trace.kmem_cache_alloc, self._alloc),
            (trace.page_fault_user, self._fault),
            (trace.sched_switch, self._switch),
            (trace.report, self._report),
        ]
        for tp, probe in self.probes:
            tp.register(probe)

    def _tick(self) -> int:
        self._ticks += 1
        return self._ticks

    def _task(self) -> str:
        current = self.kernel.current
        return "swapper/0" if current is None else f"{current.comm}:{current.pid}"

    def _emit(self, task: str, event: Event) -> None:
        self.events.append((self.clock(), task, event))

    def _begin(self, name: str, category: str, **args) -> None:
        task = self._task()
        event = Event(BEGIN, name, category, args)
        self._open.setdefault(task, []).append(event)
        self._emit(task, event)

    def _end(self, name: str) -> None:
        """End the task's innermost open slice called ``name``: the slices
        above it end first and begin again after it."""
        task = self._task()
        stack = self._open.get(task, [])
        at = next((i for i in range(len(stack) - 1, -1, -1) if stack[i].name == name), None)
        if at is None:
            return          # begun before the recorder listened
        above = stack[at + 1:]
        for event in reversed(above):
            self._emit(task, Event(END, event.name, event.category))
        self._emit(task, Event(END, name, stack[at].category))
        del stack[at:]
        for event in above:
            again = Event(BEGIN, event.name, event.category, dict(event.args, continued=True))
            stack.append(again)
            self._emit(task, again)

    def _instant(self, name: str, category: str, task: str | None = None, **args) -> None:
        self._emit(self._task() if task is None else task, Event(INSTANT, name, category, args))

    # -- probes --------------------------------------------------------------

    def _lock_acquire(self, lock, subclass, trylock, read, ip) -> None:
        # Uncontended unless lock_contended follows, which turns this
        # begin into the wait's (see _lock_contended).
        self._begin(f"hold {lock.name}", "lock", read=bool(read), trylock=bool(trylock),
                    subclass=subclass)

    def _lock_contended(self, lock, ip) -> None:
        task = self._task()
        stack = self._open.get(task)
        hold = f"hold {lock.name}"
        if stack and stack[-1].name == hold:
            # the slow path right after lock_acquire: the same tick's begin
            # was the wait's
            i = max(i for i, (_, t, e) in enumerate(self.events) if t == task and e is stack[-1])
            time, _, event = self.events[i]
            stack[-1] = Event(BEGIN, f"wait {lock.name}", "lock", event.args)
            self.events[i] = (time, task, stack[-1])
        else:
            self._begin(f"wait {lock.name}", "lock")

    def _lock_acquired(self, lock, ip) -> None:
        self._end(f"wait {lock.name}")
        self._begin(f"hold {lock.name}", "lock", contended=True)

    def _lock_release(self, lock, ip) -> None:
        self._end(f"hold {lock.name}")

    def _reclaim_begin(self, order, gfp_flags) -> None:
        self._begin("direct reclaim", "reclaim", order=order, gfp=gfp_name(gfp_flags))

    def _reclaim_end(self, nr_reclaimed) -> None:
        self._end("direct reclaim")

    def _alloc(self, call_site, ptr, cache, gfp_flags) -> None:
        failed = ptr is None
        self._instant(f"{'failed ' if failed else ''}kmem_cache_alloc {cache.name}", "alloc",
                      gfp=gfp_name(gfp_flags), failed=failed,
                      call_site=call_site.f_code.co_name if call_site is not None else "?")

    def _fault(self, task, address, write) -> None:
        self._instant(f"page fault {'write' if write else 'read'}", "fault",
                      address=hex(address))

    def _switch(self, prev, next) -> None:
        self._instant(f"switch to {next.comm}:{next.pid}", "sched")

    def _report(self, kind, text) -> None:
        headline = next((line.strip(" =-[]") for line in text.splitlines()
                         if line.strip(" =-[]")), kind)
        self._instant(f"{kind}: {headline}", "report", text=text)
        self._instant(f"{kind}: {headline}", "report", task=GLOBAL)

    def finish(self) -> list[tuple[int, str, Event]]:
        """Stop listening; end what is still open at the last tick."""
        for tp, probe in self.probes:
            tp.unregister(probe)
        last = self.events[-1][0] if self.events else 0
        for task, stack in self._open.items():
            for event in reversed(stack):
                self.events.append((last, task, Event(END, event.name, event.category,
                                                      {"unfinished": True})))
        self._open = {}
        return self.events


class Recording:
    """A program (``runner.execute``'s sense) whose machines are recorded:
    ``boot()`` boots the wrapped program's and attaches a recorder."""

    def __init__(self, program, clock=None):
        self.program = program
        self.clock = clock
        self.recorder: TimelineRecorder | None = None

    def boot(self):
        machine = self.program.boot()
        self.recorder = TimelineRecorder(machine.kernel, self.clock)
        return machine


# -- writers ---------------------------------------------------------------------

def _tracks(events) -> dict[str, int]:
    """task -> its thread id: the global track 0, tasks by their pid where
    the name carries one, else in order of appearance after them."""
    tids = {GLOBAL: 0}
    for _, task, _ in events:
        if task not in tids:
            pid = task.rpartition(":")[2]
            tids[task] = int(pid) if pid.isdigit() and int(pid) not in tids.values() \
                else max(tids.values()) + 1000
    return tids


def _args(args: dict) -> dict:
    return {key: value if isinstance(value, (bool, int, float, str)) else str(value)
            for key, value in args.items()}


def chrome_trace(events, title: str = "anonvma") -> dict:
    """The timeline as Chrome trace-event JSON (the Trace Event Format's
    object form)."""
    tids = _tracks(events)
    out = [{"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": title}}]
    out += [{"ph": "M", "name": "thread_name", "pid": 1, "tid": tid,
             "args": {"name": task or "reports"}} for task, tid in tids.items()]
    for time, task, event in events:
        record = {"ph": event.phase, "name": event.name, "cat": event.category,
                  "ts": time, "pid": 1, "tid": tids[task]}
        if event.args:
            record["args"] = _args(event.args)
        if event.phase == INSTANT:
            record["s"] = "g" if task == GLOBAL else "t"
        out.append(record)
    return {"traceEvents": out, "displayTimeUnit": "ns",
            "otherData": {"clock": "1 us = 1 tick of the recorder's clock"}}


def perfetto_trace(events, title: str = "anonvma") -> bytes:
    """The timeline as a Perfetto protobuf trace: a process, a thread track
    per task, TrackEvent slices and instants with debug annotations."""
    from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import TrackEvent
    from perfetto.trace_builder.proto_builder import TraceProtoBuilder

    phases = {BEGIN: TrackEvent.TYPE_SLICE_BEGIN, END: TrackEvent.TYPE_SLICE_END,
              INSTANT: TrackEvent.TYPE_INSTANT}
    builder = TraceProtoBuilder()
    seq = 1
    process_uuid = 1
    packet = builder.add_packet()
    packet.track_descriptor.uuid = process_uuid
    packet.track_descriptor.process.pid = 1
    packet.track_descriptor.process.process_name = title
    tids = _tracks(events)
    for task, tid in tids.items():
        packet = builder.add_packet()
        desc = packet.track_descriptor
        desc.uuid = 100 + tid
        desc.parent_uuid = process_uuid
        desc.thread.pid = 1
        desc.thread.tid = tid
        desc.thread.thread_name = task or "reports"
    first = True
    for time, task, event in events:
        packet = builder.add_packet()
        packet.timestamp = time * 1000
        packet.trusted_packet_sequence_id = seq
        if first:
            packet.sequence_flags = packet.SEQ_INCREMENTAL_STATE_CLEARED
            first = False
        te = packet.track_event
        te.type = phases[event.phase]
        te.track_uuid = 100 + tids[task]
        if event.phase != END:
            te.name = event.name
            te.categories.append(event.category)
            for key, value in _args(event.args).items():
                ann = te.debug_annotations.add()
                ann.name = key
                if isinstance(value, bool):
                    ann.bool_value = value
                elif isinstance(value, int):
                    ann.int_value = value
                elif isinstance(value, float):
                    ann.double_value = value
                else:
                    ann.string_value = value
    return builder.serialize()


def write_timeline(events, path, title: str = "anonvma") -> Path:
    """Write ``events`` to ``path`` in the format its suffix names."""
    path = Path(path)
    if path.suffix == ".pftrace":
        data = perfetto_trace(events, title)
    elif path.suffix == ".json":
        data = json.dumps(chrome_trace(events, title)).encode()
    else:
        raise ValueError(f"{path}: a timeline is a .json or .pftrace file")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
