"""What a performance run prints and writes: the throughput table, the CPU
share of the lock functions, the caller split of the lock time,
/proc/lock_stat lines, plots (matplotlib, PNG and SVG) and a Perfetto trace
(protobuf TrackEvents, one track per CPU) that is read back with the
Perfetto package's own trace schema before the command succeeds."""

from __future__ import annotations

import os
import tempfile

from . import PerfRun
from .locks import SLEEP_SYMBOL, SPIN_SYMBOL

LOCK_SYMBOLS = tuple(dict.fromkeys(list(SPIN_SYMBOL.values()) + list(SLEEP_SYMBOL.values())
                                   + ["try_to_wake_up", "lock_fastpath"]))


def throughput_table(runs: dict, variants: list, cpus: list, unit: str) -> str:
    """Rows per CPU count: each variant's throughput, normalised to the first."""
    head = f"{'cpus':>5} " + " ".join(f"{v:>16}" for v in variants)
    lines = [f"throughput ({unit}/s of virtual time), relative to {variants[0]}", head]
    for n in cpus:
        base = runs[variants[0], n].throughput
        cells = []
        for v in variants:
            r = runs[v, n]
            cells.append(f"{r.throughput / base:>7.3f} ({r.throughput:>6.0f})")
        lines.append(f"{n:>5} " + " ".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def lock_share_table(runs: dict, variants: list, n: int) -> str:
    """The share of all CPU time in each lock function, as perf report shows it."""
    lines = [f"CPU share of the lock functions at {n} CPUs (% of all CPU time)"]
    symbols = [s for s in LOCK_SYMBOLS if any(runs[v, n].cpu_time.get(s) for v in variants)]
    lines.append(f"{'':>26}" + "".join(f"{v:>16}" for v in variants))
    for s in symbols:
        lines.append(f"{s:>26}" + "".join(f"{100 * runs[v, n].share(s):>15.2f}%" for v in variants))
    lines.append(f"{'idle':>26}" + "".join(f"{100 * idle_share(runs[v, n]):>15.2f}%"
                                           for v in variants))
    return "\n".join(lines)


def idle_share(r: PerfRun) -> float:
    return max(0.0, 1.0 - r.busy_ns / (r.makespan_ns * r.cpus))


def caller_split(r: PerfRun) -> dict:
    """caller -> share of the time spent in the lock functions."""
    total = sum(r.stat.callers.values()) or 1.0
    return {k: v / total for k, v in sorted(r.stat.callers.items(), key=lambda kv: -kv[1])}


def caller_table(runs: dict, variants: list, n: int) -> str:
    lines = [f"caller split of the anon_vma lock time at {n} CPUs"]
    for v in variants:
        split = caller_split(runs[v, n])
        lines.append(f"  {v}: " + ", ".join(f"{k} {100 * s:.1f}%" for k, s in split.items()))
    return "\n".join(lines)


LOCK_STAT_COLUMNS = ("con-bounces", "contentions", "waittime-min", "waittime-max",
                     "waittime-total", "waittime-avg", "acq-bounces", "acquisitions",
                     "holdtime-min", "holdtime-max", "holdtime-total", "holdtime-avg")


def snprint_time(ns: float) -> str:
    """kernel/locking/lockdep_proc.c: ns as microseconds, two decimals cut."""
    ns = int(ns)
    return f"{ns // 1000}.{ns % 1000 // 10:02d}"


def lock_time_columns(nr: int, times: list) -> str:
    """seq_lock_time(): the count, then min, max, total and average."""
    if not times:
        times = [0]
    total = sum(times)
    avg = total / nr if nr else 0
    return f"{nr:14d}" + "".join(f" {snprint_time(t):>14}"
                                 for t in (min(times), max(times), total, avg))


def lock_stat_lines(r: PerfRun) -> str:
    """/proc/lock_stat as kernel/locking/lockdep_proc.c prints it
    (seq_header, then seq_stats' class line), for the anon_vma root lock's
    class; times in microseconds."""
    st = r.stat
    rule = "-" * (40 + 1 + 12 * (14 + 1))
    head = f"{'class name':>40} " + " ".join(f"{c:>14}" for c in LOCK_STAT_COLUMNS)
    line = (f"{st.name:>40}:{st.con_bounces:14d} " + lock_time_columns(st.contentions, st.waits)
            + f" {st.acq_bounces:14d} " + lock_time_columns(len(st.holds), st.holds))
    return "\n".join(["lock_stat version 0.4", rule, head, rule, "", line])


def hold_tail(r: PerfRun) -> dict:
    holds = sorted(r.stat.holds)
    if not holds:
        return {"p50_us": 0.0, "p99_us": 0.0, "max_us": 0.0}
    return {"p50_us": holds[len(holds) // 2] / 1e3,
            "p99_us": holds[min(len(holds) - 1, len(holds) * 99 // 100)] / 1e3,
            "max_us": holds[-1] / 1e3}


def as_json(runs: dict, variants: list, cpus: list) -> dict:
    out = []
    for v in variants:
        for n in cpus:
            r = runs[v, n]
            base = runs[variants[0], n].throughput
            out.append({
                "variant": v, "cpus": n, "machine_cpus": r.cpus, "semantics": r.semantics,
                "preempt": r.preempt,
                "throughput": r.throughput, "relative": r.throughput / base,
                "makespan_ns": r.makespan_ns, "idle": idle_share(r),
                "lock_share": {s: r.share(s) for s in LOCK_SYMBOLS if r.cpu_time.get(s)},
                "callers": caller_split(r),
                "lock_stat": {"contentions": r.stat.contentions,
                              "con_bounces": r.stat.con_bounces,
                              "acquisitions": r.stat.acquisitions,
                              "acq_bounces": r.stat.acq_bounces,
                              "wait_total_ns": sum(r.stat.waits),
                              "hold_total_ns": sum(r.stat.holds)},
                "hold_time": hold_tail(r),
            })
    return {"runs": out}


# -- plots -----------------------------------------------------------------------------

def _atomic_write(path: str, write) -> None:
    """Write through a temporary file in the same directory, so that a
    failure leaves nothing half-written."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".anonvma-")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def plot(runs: dict, variants: list, cpus: list, workload: str, unit: str,
         out_dir: str) -> list[str]:
    """throughput against CPUs per era, and the lock wait-time distribution
    at the largest CPU count; each as PNG and SVG.  Returns the paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for v in variants:
        ax.plot(cpus, [runs[v, n].throughput for n in cpus], marker="o", label=v)
    ax.set_xlabel("simulated CPUs" if workload != "mmap-merge" else "tasks")
    ax.set_ylabel(f"{unit} per second (virtual time)")
    ax.set_title(f"{workload}: throughput")
    ax.legend()
    written += _save(fig, os.path.join(out_dir, f"{workload}-throughput"))
    plt.close(fig)

    n = cpus[-1]
    fig, ax = plt.subplots(figsize=(6, 4))
    for v in variants:
        waits = sorted(w / 1e3 for w in runs[v, n].stat.waits)
        if waits:
            ax.plot(waits, [(i + 1) / len(waits) for i in range(len(waits))], label=v)
    ax.set_xscale("log")
    ax.set_xlabel("anon_vma lock wait time (µs)")
    ax.set_ylabel("fraction of contended acquisitions")
    ax.set_title(f"{workload}: lock wait-time distribution at {n} CPUs")
    ax.legend()
    written += _save(fig, os.path.join(out_dir, f"{workload}-lock-wait"))
    plt.close(fig)
    return written


def _save(fig, stem: str) -> list[str]:
    paths = []
    for ext in ("png", "svg"):
        path = f"{stem}.{ext}"
        _atomic_write(path, lambda tmp, ext=ext: fig.savefig(tmp, format=ext))
        paths.append(path)
    return paths


# -- the Perfetto trace ------------------------------------------------------------------

def perfetto_trace(r: PerfRun) -> bytes:
    """A Perfetto trace (perfetto.protos TracePacket/TrackEvent): one track
    per simulated CPU, slices for lock waits and holds, direct reclaim, and
    instants for slab allocations."""
    from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import TrackEvent
    from perfetto.trace_builder.proto_builder import TraceProtoBuilder

    builder = TraceProtoBuilder()
    seq = 1
    # a track per CPU; a sleeping waiter's wait on its task's track
    tracks: dict = {}
    for cpu, pid, start, end, what in r.slices:
        tracks.setdefault(f"CPU {cpu}" if cpu is not None else f"pid {pid} asleep",
                          []).append((start, end, pid, what))
    uuids = {}
    events = []
    for i, name in enumerate(sorted(tracks)):
        uuids[name] = 1000 + i
        packet = builder.add_packet()
        packet.track_descriptor.uuid = uuids[name]
        packet.track_descriptor.name = name
        # Slices on one track must nest: a slice that outlives the one it
        # began in (a holder preempted in its critical section) is cut at
        # the outer one's end.
        stack = []
        for start, end, pid, what in sorted(tracks[name], key=lambda s: (s[0], -s[1])):
            while stack and stack[-1] <= start:
                stack.pop()
            if stack:
                end = min(end, stack[-1])
            if end <= start:
                continue
            stack.append(end)
            events.append((start, 1, name, pid, what, TrackEvent.TYPE_SLICE_BEGIN, -end))
            events.append((end, 0, name, pid, what, TrackEvent.TYPE_SLICE_END, -start))
    # At one instant ends go first, then begins, outer before inner.
    events.sort(key=lambda e: (e[0], e[1], e[6]))
    for ts, _order, cpu, pid, what, kind, _key in events:
        packet = builder.add_packet()
        packet.timestamp = int(ts)
        packet.trusted_packet_sequence_id = seq
        packet.track_event.type = kind
        packet.track_event.track_uuid = uuids[cpu]
        if kind != TrackEvent.TYPE_SLICE_END:
            packet.track_event.name = f"{what} pid {pid}"
    return builder.serialize()


def read_trace(data: bytes) -> dict:
    """Parse a trace back with the Perfetto schema: per track name, the
    number of slices, checking that every begin has its end in order."""
    from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace, TrackEvent

    trace = Trace.FromString(data)
    names, depth, slices = {}, {}, {}
    for packet in trace.packet:
        if packet.HasField("track_descriptor"):
            names[packet.track_descriptor.uuid] = packet.track_descriptor.name
            continue
        ev = packet.track_event
        track = names[ev.track_uuid]
        if ev.type == TrackEvent.TYPE_SLICE_BEGIN:
            depth[track] = depth.get(track, 0) + 1
            slices[track] = slices.get(track, 0) + 1
        elif ev.type == TrackEvent.TYPE_SLICE_END:
            if not depth.get(track):
                raise ValueError(f"slice end without a begin on {track}")
            depth[track] -= 1
    unclosed = [t for t, d in depth.items() if d]
    if unclosed:
        raise ValueError(f"slices left open on {', '.join(unclosed)}")
    return slices


def write_trace(r: PerfRun, path: str) -> dict:
    data = perfetto_trace(r)
    slices = read_trace(data)

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)
    _atomic_write(path, write)
    return slices
