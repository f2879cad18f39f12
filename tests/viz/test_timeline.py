"""``anonvma replay --timeline`` and ``explore --timeline``: the seed's
deadlock as a trace that Perfetto opens, read back with the format's own
readers (json for Chrome trace events; the perfetto package's protobuf
classes for .pftrace: its TraceProcessor needs a binary it downloads at
first use, which this machine cannot fetch)."""

import json
import shutil
from collections import defaultdict
from importlib import resources

import pytest
from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace, TrackEvent

from anonvma.cli import main
from anonvma.trace import Tracer
from anonvma.viz.timeline import BEGIN, END, TimelineRecorder, chrome_trace

SEED = "seed_fork_under_pressure.scn"


def slices_of(records):
    """(track, phase, name, ts) in order -> per track the closed slices
    (name, begin, end); asserts that every track's slices nest."""
    stacks, closed = defaultdict(list), defaultdict(list)
    for track, phase, name, ts in records:
        if phase == "B":
            stacks[track].append((name, ts))
        elif phase == "E":
            assert stacks[track], f"an end without a begin on track {track} at {ts}"
            begun, start = stacks[track].pop()
            if name is not None:
                assert name == begun
            assert start <= ts
            closed[track].append((begun, start, ts))
    assert not any(stacks.values()), "slices left open"
    return closed


@pytest.fixture(scope="module")
def seed_failure(tmp_path_factory):
    """The seed's deadlock, found by PCT with seed 2 (the scenario's own
    comment) and saved; its timeline directory."""
    d = tmp_path_factory.mktemp("seed")
    scn = d / SEED
    with resources.as_file(resources.files("anonvma") / "examples" / SEED) as src:
        shutil.copy(src, scn)
    assert main(["explore", str(scn), "--strategy", "pct", "--seed", "2", "--save",
                 str(d / "failures"), "--timeline", str(d / "timeline")]) == 1
    (saved,) = (d / "failures").iterdir()
    return saved, d / "timeline"


def test_the_deadlock_as_chrome_trace_events(seed_failure, tmp_path):
    saved, _ = seed_failure
    out = tmp_path / "seed.json"
    assert main(["replay", str(saved / SEED), str(saved / "schedule.json"),
                 "--timeline", str(out)]) == 1
    trace = json.loads(out.read_text())
    events = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert "P1:2" in names.values() and "P0:1" in names.values()
    timed = [e for e in events if e["ph"] != "M"]
    assert [e["ts"] for e in timed] == sorted(e["ts"] for e in timed)
    closed = slices_of([(e["tid"], e["ph"], e["name"], e["ts"]) for e in timed])
    p1 = next(tid for tid, name in names.items() if name == "P1:2")
    # the forking task waits for ever on the root mutex that it holds
    waits = [s for s in closed[p1] if s[0] == "wait &anon_vma->mutex"]
    holds = [s for s in closed[p1] if s[0] == "hold &anon_vma->mutex"]
    assert waits and holds
    assert any(h[1] < waits[-1][1] and h[2] >= waits[-1][2] for h in holds)
    unfinished = [e for e in timed if e["ph"] == "E" and e.get("args", {}).get("unfinished")]
    assert {e["name"] for e in unfinished} >= {"wait &anon_vma->mutex", "direct reclaim"}
    reclaim = [s for s in closed[p1] if s[0] == "direct reclaim"]
    assert reclaim and reclaim[-1][1] < waits[-1][1]
    reports = [e for e in timed if e["cat"] == "report"]
    assert any(e["name"].startswith("hung_task: INFO: task P1:2 blocked") and e["s"] == "g"
               for e in reports)
    assert any(e["cat"] == "alloc" and e["ph"] == "i" for e in timed)
    assert any(e["cat"] == "fault" for e in timed)


def test_the_deadlock_as_a_perfetto_protobuf_trace(seed_failure):
    _, timeline = seed_failure
    (pf,) = timeline.glob("*.pftrace")
    (js,) = timeline.glob("*.json")
    trace = Trace()
    trace.ParseFromString(pf.read_bytes())
    tracks = {p.track_descriptor.uuid: p.track_descriptor for p in trace.packet
              if p.HasField("track_descriptor")}
    threads = {uuid: d.thread.thread_name for uuid, d in tracks.items() if d.HasField("thread")}
    assert "P1:2" in threads.values()
    phase = {TrackEvent.TYPE_SLICE_BEGIN: "B", TrackEvent.TYPE_SLICE_END: "E",
             TrackEvent.TYPE_INSTANT: "i"}
    records = [(p.track_event.track_uuid, phase[p.track_event.type],
                p.track_event.name or None, p.timestamp)
               for p in trace.packet if p.HasField("track_event")]
    assert all(track in threads for track, *_ in records)
    closed = slices_of(records)
    p1 = next(uuid for uuid, name in threads.items() if name == "P1:2")
    assert any(name == "wait &anon_vma->mutex" for name, *_ in closed[p1])
    # the same picture as the JSON, a thousand nanoseconds to its microsecond
    chrome = [e for e in json.loads(js.read_text())["traceEvents"] if e["ph"] != "M"]
    assert [(e["ph"], e["ts"] * 1000) for e in chrome] == [(r[1], r[3]) for r in records]


def test_releases_out_of_order_still_nest():
    """Lock A, lock B, unlock A: B's slice ends and begins again around A's end."""
    class Lock:
        def __init__(self, name):
            self.name = name

    class Kernel:
        trace = Tracer()
        current = None

    k = Kernel()
    rec = TimelineRecorder(k)
    a, b = Lock("A"), Lock("B")
    k.trace.lock_acquire(a, 0, 0, 0, None)
    k.trace.lock_acquire(b, 0, 0, 0, None)
    k.trace.lock_release(a, None)
    k.trace.lock_release(b, None)
    events = rec.finish()
    assert [(e.phase, e.name) for _, _, e in events] == [
        (BEGIN, "hold A"), (BEGIN, "hold B"), (END, "hold B"), (END, "hold A"),
        (BEGIN, "hold B"), (END, "hold B")]
    assert events[4][2].args["continued"] is True
    slices_of([(task, e.phase, e.name, t) for t, task, e in events])
    assert chrome_trace(events)["traceEvents"][-1]["ph"] == END



def test_bad_timeline_paths_are_messages(seed_failure, tmp_path, capsys):
    saved, _ = seed_failure
    args = ["replay", str(saved / SEED), str(saved / "schedule.json")]
    assert main(args + ["--timeline", str(tmp_path / "out.txt")]) == 2
    assert ".json" in capsys.readouterr().err
    assert main(args + ["--timeline", str(tmp_path / "nope" / "out.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("")
    assert main(["explore", str(saved / SEED), "--timeline", str(f)]) == 2
    assert "not a directory" in capsys.readouterr().err
