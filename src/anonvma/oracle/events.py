"""Turn the raw tracefs text of one run into the fixed trace lines.

The input is the ``trace`` file of the oracle's instance: kmem_cache_alloc /
kmem_cache_free records (filtered to the anon_vma and anon_vma_chain slab
names), each followed by a ``<stack trace>`` record, plus the interpreter's
``@pid PID NAME`` markers.  The output is one ``NAME TOKEN`` line per rmap
object event, as in docs/scenario-format.md.

Kernel facts this relies on (6.18, and the reasons):
 - the anon_vma_chain slab is merged with other caches of the same size
   (fs_cache on this kernel: copy_fs_struct at fork, do_exit at exit), so
   events under that name whose call site and stack show no rmap function
   are not rmap objects and are dropped;
 - pointers are hashed but stable, and reused after a free, so objects are
   identified by the live (cache, pointer) set;
 - unlink_anon_vmas frees avcs from two loops, told apart only by the call
   site offset, which is build-specific: the caller passes the calibrated
   offsets (see harness.calibrate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..trace_tokens import CLONE_CALLERS, RMAP_CACHES, RMAP_FUNCTIONS, SITES, UNLINK_CALLERS

RECORD = re.compile(r"^\s*.*?-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+\S+\s+\d+: (?P<body>.*)$")
FIELD = re.compile(r"(\w+)=(\S+)")
MARKER = re.compile(r"^tracing_mark_write: @pid (\d+) (\S+)$")

KIND = RMAP_CACHES

@dataclass
class Record:
    pid: int
    cpu: int
    event: str                  # kmem_cache_alloc, kmem_cache_free or marker
    fields: dict[str, str]
    stack: list[str] = field(default_factory=list)

    @property
    def function(self) -> str:
        return self.fields.get("call_site", "?").split("+")[0]


def parse(text: str) -> list[Record]:
    """Records in trace order, each kmem record with its kernel stack."""
    records: list[Record] = []
    last_kmem: dict[int, Record] = {}   # per CPU: where its next stack belongs
    stack: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(" => "):
            if stack is not None:
                stack.append(line[4:].split("+")[0].strip())
            continue
        m = RECORD.match(line)
        if not m:
            continue
        pid, cpu, body = int(m["pid"]), int(m["cpu"]), m["body"]
        stack = None
        if body.startswith("<stack trace>"):
            # Another CPU's record may come between an event and its stack.
            owner = last_kmem.pop(cpu, None)
            if owner is not None and owner.pid == pid:
                stack = owner.stack
            continue
        marker = MARKER.match(body)
        if marker:
            records.append(Record(pid, cpu, "marker",
                                  {"pid": marker[1], "name": marker[2]}))
            continue
        event, _, rest = body.partition(": ")
        if event in ("kmem_cache_alloc", "kmem_cache_free"):
            rec = Record(pid, cpu, event, dict(FIELD.findall(rest)))
            records.append(rec)
            last_kmem[cpu] = rec
    return records


def is_rmap(rec: Record) -> bool:
    if rec.fields.get("name") == "anon_vma":
        return True         # own cache: it has a constructor, so never merged
    return rec.function in RMAP_FUNCTIONS or any(f in RMAP_FUNCTIONS for f in rec.stack)


def caller(rec: Record, table: dict) -> str:
    """Token name of the frame that called the allocating/freeing function,
    by ``table`` (clone or unlink callers); unknown callers stay visible as
    '?frame'."""
    fn = rec.function
    if fn in rec.stack:
        i = rec.stack.index(fn)
        if i + 1 < len(rec.stack):
            frame = rec.stack[i + 1]
            return table.get(frame, "?" + frame)
    return "?"


def unlink_sites(records: list[Record]) -> list[str]:
    """Distinct unlink_anon_vmas call sites, in order of appearance."""
    sites: list[str] = []
    for rec in records:
        site = rec.fields.get("call_site", "")
        if rec.event == "kmem_cache_free" and rec.function == "unlink_anon_vmas" \
                and site not in sites:
            sites.append(site)
    return sites


def tag(rec: Record, loops: dict[str, str]) -> str:
    """What happened to the object: prep, clone/split, u1/pgt, put, ..."""
    fn = rec.function
    site = SITES.get(fn)
    if rec.event == "kmem_cache_alloc":
        if site == "clone":
            return "clone/" + caller(rec, CLONE_CALLERS)
        if site in ("prep", "fork"):
            return site
        return "?" + fn
    if site == "u":
        return loops.get(rec.fields.get("call_site", ""), "u?") + "/" + caller(rec, UNLINK_CALLERS)
    if site == "put":
        return "put"
    return "?" + fn


def _failed(rec: Record) -> bool:
    ptr = rec.fields.get("ptr", "")
    return ptr == "(null)" or not ptr.strip("0")


class Namer:
    """Numbers objects per kind in first-allocation order; frees of objects
    never seen allocated are the pre-existing AVpreN/AVCpreN."""

    def __init__(self):
        self.live: dict[tuple[str, str], str] = {}
        self.count: dict[str, int] = {}

    def _next(self, key: str) -> int:
        self.count[key] = self.count.get(key, 0) + 1
        return self.count[key]

    def alloc(self, kind: str, ptr: str) -> str:
        name = f"{kind}{self._next(kind)}"
        self.live[(kind, ptr)] = name
        return name

    def free(self, kind: str, ptr: str) -> str:
        name = self.live.pop((kind, ptr), None)
        return name or f"{kind}pre{self._next(kind + 'pre')}"


def render(records: list[Record], loops: dict[str, str]) -> list[str]:
    """``NAME TOKEN`` lines; ``loops`` maps unlink call sites to u1/u2."""
    names: dict[int, str] = {}
    namer = Namer()
    lines = []
    for rec in records:
        if rec.event == "marker":
            names[int(rec.fields["pid"])] = rec.fields["name"]
            continue
        # The traced tree includes the harness; only announced pids are ours.
        who = names.get(rec.pid)
        if who is None or not is_rmap(rec):
            continue
        kind = KIND[rec.fields["name"]]
        ptr = rec.fields.get("ptr", "")
        if rec.event == "kmem_cache_alloc" and _failed(rec):
            lines.append(f"{who} !{kind}:{tag(rec, loops)}")
        elif rec.event == "kmem_cache_alloc":
            lines.append(f"{who} +{namer.alloc(kind, ptr)}:{tag(rec, loops)}")
        else:
            lines.append(f"{who} -{namer.free(kind, ptr)}:{tag(rec, loops)}")
    return lines
