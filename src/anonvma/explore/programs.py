"""Random scenario programs: several processes, every op, ranges that split,
merge and move.

Every random decision is drawn through one ``choose(lo, hi)`` function, so
the same generator serves a seeded ``random.Random`` (differential fuzzing)
and Hypothesis (whose choice sequence shrinks a failing program to a small
one).  Addresses stay inside a small window so that operations keep meeting
each other's VMAs.
"""

from __future__ import annotations

import random
from typing import Callable, Mapping

from ..scenario import ADVICE, PROTS

Choose = Callable[[int, int], int]

_OPS = (
    # op, weight
    ("mmap", 6), ("write", 8), ("read", 2), ("fork", 3), ("exit", 2), ("mprotect", 5),
    ("munmap", 3), ("madvise", 4), ("mremap", 3), ("maps", 1),
    # MAP_FIXED replacing what is there, and mmap(NULL)-like placement
    ("mmap fixed", 3), ("mmap any", 1),
    # threads sharing one mm, and exec
    ("thread", 2), ("exec", 1),
    # the heap, from page 0
    ("brk", 2),
    # VM_LOCKED, VM_LOCKONFAULT and VM_SEALED split and merge VMAs
    ("mlock", 2), ("munlock", 1), ("mseal", 1),
    # VMA names and memory policies take part in merging
    ("anon_name", 2), ("mbind", 2),
    # lazyfree and cold pages, population, guard markers, THP vm_flags and
    # another process's advice
    ("madvise lru", 2), ("madvise populate", 2), ("madvise guard", 2), ("madvise thp", 2),
    ("process_madvise", 1),
    # userfaultfd: registration splits and merges, UFFDIO_MOVE re-targets folios
    ("uffd_register", 2), ("uffd_move", 3),
)
# what merges=True draws more of: the ops that make, move, split and unmap VMAs
LAYOUT_OPS = ("mmap", "mmap fixed", "mprotect", "munmap", "mremap")
_NAMES = ("a", "a", "b", "c")
_POLICIES = ("default", "bind", "bind", "preferred", "interleave")
# where 'mmap any COUNT' lands when the top of the scenario range is free
TOP = 1 << 32
# rw and rwx differ only in access bits and both carry VM_ACCOUNT: the pair
# that keeps neighbours apart yet lets them share an anon_vma.
_PROTS = ("rw",) * 4 + ("rwx",) * 2 + ("r",) * 2 + ("none", "rx")
assert set(_PROTS) == set(PROTS)
_ADVICE = ("dontfork", "dofork", "wipeonfork", "keeponfork", "dontneed", "pageout")
# the advice of the newer madvise ops, by op
_MORE_ADVICE = {
    "madvise lru": ("free", "free", "cold", "pageout"),
    "madvise populate": ("populate_write", "populate_write", "populate_read"),
    "madvise guard": ("guard_install", "guard_remove"),
    "madvise thp": ("hugepage", "hugepage", "nohugepage", "collapse"),
}
# what process_madvise asks of another process (and, rarely, what it may not)
_REMOTE_ADVICE = ("cold", "pageout", "pageout", "collapse", "free")
assert set(_ADVICE).union(*_MORE_ADVICE.values()) == set(ADVICE)


def _pick(choose: Choose, items):
    return items[choose(0, len(items) - 1)]


def op_weights(weights: Mapping[str, int] | None) -> tuple[tuple[str, int], ...]:
    """The op table with ``weights`` (op -> relative weight, 0 to never
    draw it) replacing the defaults of the ops it names."""
    if not weights:
        return _OPS
    unknown = set(weights) - {op for op, _w in _OPS}
    if unknown:
        raise ValueError(f"unknown ops {sorted(unknown)}: weights are for "
                         + ", ".join(op for op, _w in _OPS))
    table = tuple((op, weights.get(op, w)) for op, w in _OPS)
    if any(w < 0 for _op, w in table) or not any(w for _op, w in table):
        raise ValueError("weights are numbers >= 0, and at least one is not 0")
    return table


def _weighted(choose: Choose, ops) -> str:
    total = sum(w for _op, w in ops)
    n = choose(0, total - 1)
    for op, w in ops:
        if n < w:
            return op
        n -= w
    raise AssertionError("unreachable")


def _edge(choose: Choose, mapped: list[int], count: int, window: int) -> int:
    """A first page so that [first, first + count) touches a mapped page's
    edge: just after a mapped run, or just before one."""
    page = _pick(choose, mapped)
    if choose(0, 1):
        while page + 1 in mapped:
            page += 1
        return min(page + 1, TOP - 1)     # pages end at the scenario top
    while page - 1 in mapped:
        page -= 1
    return max(0, page - count)


def _continued(mapped: set[int], pgoffs: dict[int, int], pages: range, new: int) -> list[int]:
    """Targets for an mremap of ``pages`` to ``new`` pages where the moved
    range would continue a mapped neighbour's page offsets, on its left or
    its right: copy_vma() may merge it there.  Whatever the target covers is
    unmapped first, as MREMAP_FIXED does; it may not overlap the source."""
    if not pages or pages.start not in mapped:
        return []
    pgoff = pgoffs.get(pages.start, pages.start)
    out = set()
    for page in mapped:
        off = pgoffs.get(page, page)
        if off == pgoff - 1:
            dest = page + 1
        elif off == pgoff + new:
            dest = page - new
        else:
            continue
        if 0 <= dest and dest + new <= TOP and (dest + new <= pages.start
                                                 or dest >= pages.stop):
            out.add(dest)
    return sorted(out)


def _offset_neighbours(mapped: set[int], pgoffs: dict[int, int],
                       count: int) -> list[tuple[int, int]]:
    """Free places for a new mapping of ``count`` pages whose page offsets
    (its own address, as for any new anonymous mapping) continue those of a
    range that mremap moved away, on either side: (first page, the moved
    page it continues)."""
    out = set()
    for page in mapped:
        off = pgoffs.get(page, page)
        if off == page:
            continue
        for first in (off + 1, off - count):
            if 0 <= first and first + count <= TOP and \
                    not mapped.intersection(range(first, first + count)):
                out.add((first, page))
    return sorted(out)


def _vma_of(mapped: set[int], pgoffs: dict[int, int], flags: dict[int, str],
            page: int) -> range:
    """The pages of the VMA ``page`` is in, as far as the record tells: the
    run of mapped pages around it with its flags and page offsets that go
    on (neighbours like that are merged)."""
    def same(a, b):
        return b in mapped and flags.get(b) == flags.get(a) and \
            pgoffs.get(b, b) - pgoffs.get(a, a) == b - a
    first = last = page
    while same(first, first - 1):
        first -= 1
    while same(last, last + 1):
        last += 1
    return range(first, last + 1)


def generate(choose: Choose, max_ops: int = 40, window: int = 32, max_procs: int = 4,
             weights: Mapping[str, int] | None = None, anon_names: bool = True,
             keep_alive: bool = False, merges: bool = False) -> str:
    """One scenario's text.  ``window`` is the number of pages ops touch;
    ``weights`` changes how often each op is drawn (``op_weights``);
    ``anon_names`` False leaves out the anon_name lines (for a kernel
    without CONFIG_ANON_VMA_NAME), drawing the same choices otherwise.

    ``merges`` aims the program at merges: the ops that make, move, split
    and unmap VMAs (``LAYOUT_OPS``) are drawn four times as often, a new
    mapping goes beside what is mapped, with its neighbour's protection and
    flags (a merge needs equal vm_flags), and mremap moves faulted VMAs
    (whose folios and anon_vma go with them) to where their page offsets
    continue a neighbour's.

    A rough record of what each process mapped (ignoring failures) steers
    most ranges into mapped memory and most accesses to writable pages, so
    that operations meet each other's VMAs: splits, merges, anon_vma reuse
    and COW happen often, and few processes die of SIGSEGV before they have
    done anything interesting."""
    ops = op_weights(weights)
    if merges:
        ops = tuple((op, w * 4 if op in LAYOUT_OPS else w) for op, w in ops)
    live = ["P0"]
    mapped = {"P0": set()}          # the threads of a process share its sets
    writable = {"P0": set()}
    # page -> its vm_pgoff, the page's own number until mremap moves it:
    # where a moved range would continue a neighbour (a merge candidate)
    pgoffs = {"P0": {}}
    written = {"P0": set()}         # pages written: their VMA has an anon_vma
    # page -> its mmap protection and flags, as the line spelt them: what a
    # merge candidate beside it takes
    flags = {"P0": {}}
    group = {"P0": 0}               # name -> its process (thread group)
    leader = {0: "P0"}              # a thread group's leading thread
    leaderless = set()              # groups whose leader did 'exit thread'
    next_name = 1
    lines = []
    if choose(0, 1):
        # a region to work in, from the start, maybe in pieces of different
        # protections that stay apart as VMAs
        first = choose(0, 3)
        for _ in range(choose(1, 3)):
            count = choose(2, 8)
            prot = _pick(choose, _PROTS)
            lines.append(f"P0 mmap {first} {count} {prot}")
            mapped["P0"].update(range(first, first + count))
            flags["P0"].update((p, prot) for p in range(first, first + count))
            pgoffs["P0"].update((p, p) for p in range(first, first + count))
            if prot in ("rw", "rwx"):
                writable["P0"].update(range(first, first + count))
            first += count
    n_ops = choose(1, max_ops)
    for _ in range(n_ops):
        proc = _pick(choose, live)
        op = _weighted(choose, ops)
        mine = sorted(mapped[proc])
        first = _pick(choose, mine) if mine and choose(0, 3) else choose(0, window - 1)
        count = choose(1, max(1, min(8, window - first)))
        pages = range(first, min(first + count, TOP))
        if op in ("mmap", "mmap fixed"):
            where = (choose(1, 2) if merges else choose(0, 2)) if mine else 0
            beside = _offset_neighbours(mapped[proc], pgoffs[proc], count) if where == 2 else []
            neighbour = None
            if beside:
                # where a moved range's page offsets go on: moving it back
                # beside the new mapping may merge the two (copy_vma())
                first, neighbour = _pick(choose, beside)
                pages = range(first, min(first + count, TOP))
            elif where:
                # right next to what is mapped: merge candidates
                first = _edge(choose, mine, count, window)
                pages = range(first, min(first + count, TOP))
                neighbour = first - 1 if first - 1 in mapped[proc] else first + count
            like = flags[proc].get(neighbour) if merges else None
            if like is not None:
                prot, _, noreserve = like.partition(" ")
                noreserve = " noreserve" if noreserve else ""
            else:
                prot = _pick(choose, _PROTS)
                # without VM_ACCOUNT: changes which mprotect merges happen
                noreserve = " noreserve" if choose(0, 5) == 0 else ""
            fixed = op == "mmap fixed"
            tail = (" fixed" if fixed else "") + noreserve
            lines.append(f"{proc} mmap {first} {count} {prot}{tail}")
            if fixed or not mapped[proc].intersection(pages):
                mapped[proc].update(pages)
                pgoffs[proc].update((p, p) for p in pages)
                flags[proc].update((p, prot + noreserve) for p in pages)
                writable[proc].difference_update(pages)
                if prot in ("rw", "rwx"):
                    writable[proc].update(pages)
        elif op == "mmap any":
            prot = _pick(choose, _PROTS)
            lines.append(f"{proc} mmap any {count} {prot}")
            pages = range(TOP - count, TOP)
            if not mapped[proc].intersection(pages):
                mapped[proc].update(pages)
                pgoffs[proc].update((p, p) for p in pages)
                flags[proc].update((p, prot) for p in pages)
                if prot in ("rw", "rwx"):
                    writable[proc].update(pages)
        elif op in ("read", "write"):
            ok = sorted(writable[proc])
            page = _pick(choose, ok) if ok and choose(0, 5) else first
            lines.append(f"{proc} {op} {page}")
            if op == "write":
                written[proc].add(page)
        elif op == "fork":
            if len(live) >= max_procs:
                continue
            child = f"P{next_name}"
            group[child] = next_name
            leader[next_name] = child
            next_name += 1
            lines.append(f"{proc} fork {child}")
            live.append(child)
            mapped[child] = set(mapped[proc])
            writable[child] = set(writable[proc])
            pgoffs[child] = dict(pgoffs[proc])
            written[child] = set(written[proc])
            flags[child] = dict(flags[proc])
        elif op == "anon_name":
            name = _pick(choose, _NAMES + ("",))
            if anon_names:
                lines.append(f"{proc} anon_name {first} {count} {name}".rstrip())
        elif op == "mbind":
            lines.append(f"{proc} mbind {first} {count} {_pick(choose, _POLICIES)}")
        elif op == "mlock":
            onfault = " onfault" if choose(0, 2) == 0 else ""
            lines.append(f"{proc} mlock {first} {count}{onfault}")
        elif op in ("munlock", "mseal"):
            lines.append(f"{proc} {op} {first} {count}")
        elif op == "brk":
            lines.append(f"{proc} brk {choose(0, 12)}")
        elif op == "thread":
            if len(live) >= max_procs:
                continue
            child = f"T{next_name}"
            next_name += 1
            lines.append(f"{proc} thread {child}")
            live.append(child)
            group[child] = group[proc]
            mapped[child] = mapped[proc]
            writable[child] = writable[proc]
            pgoffs[child] = pgoffs[proc]
            written[child] = written[proc]
            flags[child] = flags[proc]
        elif op == "exec":
            lines.append(f"{proc} exec")
            leader[group[proc]] = proc      # de_thread(): the exec'ing thread leads
            leaderless.discard(group[proc])
            for name in [n for n in live if group[n] == group[proc] and n != proc]:
                live.remove(name)
            mapped[proc], writable[proc] = set(), set()
            pgoffs[proc], written[proc], flags[proc] = {}, set(), {}
        elif op == "exit":
            if (proc == "P0" or keep_alive) and len(live) == 1 and len(lines) < n_ops - 1:
                continue            # keep someone alive to do the rest
            threads = [n for n in live if group[n] == group[proc]]
            if len(threads) > 1 and choose(0, 1):
                lines.append(f"{proc} exit thread")
                threads = [proc]
                if leader[group[proc]] == proc:
                    leaderless.add(group[proc])
            else:
                lines.append(f"{proc} exit")
            for name in threads:
                live.remove(name)
            if not live:
                break
        elif op == "mprotect":
            prot = _pick(choose, _PROTS)
            lines.append(f"{proc} mprotect {first} {count} {prot}")
            for p in mapped[proc].intersection(pages):
                flags[proc][p] = prot + (" noreserve" if flags[proc].get(p, "").endswith(
                    "noreserve") else "")
            if prot in ("rw", "rwx"):
                writable[proc].update(mapped[proc].intersection(pages))
            else:
                writable[proc].difference_update(pages)
        elif op == "munmap":
            lines.append(f"{proc} munmap {first} {count}")
            mapped[proc].difference_update(pages)
            written[proc].difference_update(pages)
            writable[proc].difference_update(pages)
        elif op == "madvise":
            lines.append(f"{proc} madvise {first} {count} {_pick(choose, _ADVICE)}")
        elif op in _MORE_ADVICE:
            advice = _pick(choose, _MORE_ADVICE[op])
            lines.append(f"{proc} madvise {first} {count} {advice}")
            if advice == "guard_install":
                # an access there is SIGSEGV: steer writes elsewhere
                writable[proc].difference_update(pages)
        elif op == "uffd_register":
            lines.append(f"{proc} uffd_register {first} {count}")
            # a missing page there is SIGBUS: steer writes elsewhere
            writable[proc].difference_update(pages)
        elif op == "uffd_move":
            dest = _edge(choose, mine, count, window) if mine and choose(0, 1) \
                else choose(0, window - 1)
            holes = " holes" if choose(0, 2) == 0 else ""
            lines.append(f"{proc} uffd_move {first} {count} {dest}{holes}")
        elif op == "process_madvise":
            # a pidfd of a process whose leader exited races with that
            # exit in the live kernel: such targets are left out
            targets = [n for n in live if group[n] not in leaderless]
            if not targets:
                continue
            target = _pick(choose, targets)
            advice = _pick(choose, _REMOTE_ADVICE)
            lines.append(f"{proc} process_madvise {target} {first} {count} {advice}")
        elif op == "mremap":
            kind = choose(1, 2) if merges else choose(0, 2)
            faulted = sorted(written[proc] & mapped[proc])
            if merges and faulted:
                # a faulted VMA, whole: its folios and its anon_vma move
                # with it (move_ptes()), and what is left behind is a hole,
                # not an unfaulted piece of it
                pages = _vma_of(mapped[proc], pgoffs[proc], flags[proc],
                                _pick(choose, faulted))
                first, count = pages.start, len(pages)
            if kind == 0:
                lines.append(f"{proc} mremap {first} {count} {choose(1, 8)}")
            else:
                new = count if kind == 2 else choose(1, 8)
                where = (choose(1, 2) if merges else choose(0, 2)) if mine else 0
                beside = _continued(mapped[proc], pgoffs[proc], pages, new) if where == 2 else []
                if merges and where == 2:
                    # the move sized to fit: every length whose page
                    # offsets end where a neighbour's begin, or begin
                    # where one's end
                    fits = [(n, dest) for n in range(1, 9) for dest in _continued(
                        mapped[proc], pgoffs[proc],
                        range(first, min(first + n, TOP)) if kind == 2 else pages, n)]
                    if fits:
                        new, dest = _pick(choose, fits)
                        if kind == 2:
                            count = new
                            pages = range(first, min(first + count, TOP))
                        beside = [dest]
                if beside:
                    dest = _pick(choose, beside)
                elif where:
                    dest = _edge(choose, mine, count, window)
                else:
                    dest = choose(0, window - 1)
                tail = " dontunmap" if kind == 2 else ""
                lines.append(f"{proc} mremap {first} {count} {new} to {dest}{tail}")
                moved = mapped[proc].intersection(pages)
                moved_to = range(dest, min(dest + new, TOP))
                if writable[proc].intersection(pages):
                    writable[proc].update(moved_to)
                if moved and kind == 1:
                    mapped[proc].difference_update(pages)
                    writable[proc].difference_update(set(pages) - set(moved_to))
                # copy_vma(): an unfaulted VMA is placed as if it had always
                # been at the new address
                pgoff = pgoffs[proc].get(first, first) if written[proc].intersection(pages) \
                    else dest
                if written[proc].intersection(pages):
                    written[proc].update(moved_to)
                pgoffs[proc].update((p, pgoff + i) for i, p in enumerate(moved_to))
                like = [flags[proc][p] for p in pages if p in flags[proc]]
                if like:
                    flags[proc].update((p, like[0]) for p in moved_to)
                if moved and kind == 1:
                    written[proc].difference_update(set(pages) - set(moved_to))
                mapped[proc].update(moved_to)
        else:
            lines.append(f"{proc} maps")
    # Show every survivor's final layout: maps lines are half the comparison.
    lines.extend(f"{proc} maps" for proc in live)
    return "\n".join(lines) + "\n"


# What the lines of a generated together block do: faults, unmaps, splits,
# reclaim advice and moves that meet the prefix's VMAs (mapped from page 0).
BLOCK_OPS = ("write 0", "write 3", "read 1", "munmap 2 2", "mprotect 0 3 r", "mmap 8 4",
             "madvise 0 4 pageout", "madvise 0 4 dontneed", "mremap 0 2 4")
# the block lines' words that free pages or VMAs, or walk their rmap (pageout)
FREEING = {"munmap", "dontneed", "pageout"}
# the pressure programs' fill: P0's mapping of FILL_PAGES pages from page
# FILL_START, written page by page, in a zone of PRESSURE_ZONE pages
FILL_START, FILL_PAGES, PRESSURE_ZONE = 100, 128, 128
FILL_MAX = FILL_PAGES - 5          # the block writes up to five pages more


def _tree(choose: Choose, procs: list[str], forks: int, region: int = 8) -> list[str]:
    """A process tree of ``forks`` more processes, each forked from one of
    ``procs`` (extended) and writing pages of the working region (``region``
    pages from page 0) at once: copy-on-write gives each child folios of its
    own, in an anon_vma of its own under the tree's root, so that the rmap
    walks of reclaim meet anon_vmas of every depth and each child's exit
    frees one."""
    lines = []
    n = 1 + max((int(name[1:]) for name in procs if name[1:].isdigit()), default=0)
    for _ in range(forks):
        parent, child = _pick(choose, procs), f"P{n}"
        n += 1
        procs.append(child)
        lines.append(f"{parent} fork {child}")
        lines += [f"{child} write {choose(0, region - 1)}" for _ in range(choose(1, 3))]
    return lines


def generate_concurrent(choose: Choose, max_ops: int = 12, block: tuple[int, int] = (2, 3),
                        pressure: bool = False, block_ops=BLOCK_OPS,
                        weights: Mapping[str, int] | None = None, exits: bool = False,
                        may_fork: bool = False, tree: int = 0, preempt: bool = False,
                        fill_last: bool = False, fill: int | None = None) -> str:
    """A concurrent scenario's text: a generated plain prefix (``generate``
    with ``max_ops`` and ``weights``, its exits and execs left out so that
    every process can take part: an exec by a thread ends the others), then
    a together block of ``block`` (least, most) lines from ``block_ops``
    plus a fork.

    With ``pressure``, a small zone with swap, most of it already written,
    and writers in the block: direct reclaim and kswapd run beside the
    rest; ``fill_last`` fills the zone after the prefix instead of before
    it, so that the prefix's folios are the oldest on the LRU and reclaim's
    first; ``fill`` is the number of pages written (drawn, 112-123, if None).
    With ``tree``, the prefix ends with a process tree of that many
    forks whose children write pages of their own (``_tree``).  With
    ``exits``, one time in two a leaf of the process tree (a process that
    forked none; P0 is the root) is drawn first to exit in the block, and
    the block's other lines go to the rest (a process that exits in a block
    has no other line there), half of them from those that free or walk
    (``FREEING``): its mm is torn down beside the other teardowns and the
    walkers (the refcounts an rmap walk holds then outlive the VMAs).  A
    leaf, because the exit of a process with children frees none of its
    anon_vmas (the children's chains keep them) and a leaf's frees those
    of its own: a lifetime race needs the free.  With ``may_fork``, the fork is there one time
    in two only: a fork links a new VMA to every anon_vma of its parent's,
    which keeps them alive while the rest tears them down.  ``preempt``:
    ``set preempt full``, tasks preempted inside their RCU read sections
    and spinlocks too."""
    prefix = [ln for ln in generate(choose, max_ops=max_ops, weights=weights).splitlines()
              if ln and ln.split()[1] not in ("exit", "exec")]
    procs = ["P0"] + [ln.split()[2] for ln in prefix if ln.split()[1] == "fork"]
    if tree:
        prefix += _tree(choose, procs, tree)
    forked = {ln.split()[0] for ln in prefix if ln.split()[1] == "fork"}
    leaves = [p for p in procs[1:] if p not in forked]
    exiting = _pick(choose, leaves) if exits and leaves and choose(0, 1) else None
    others = [p for p in procs if p != exiting]
    # beside an exit, half the lines are drawn from the ones that free or
    # walk what the exit frees: lifetime races are between two teardowns,
    # or a teardown and an rmap walk
    freeing = [op for op in block_ops if set(op.split()) & FREEING] if exiting else []
    lines = [f"{_pick(choose, others)} "
             f"{_pick(choose, freeing if freeing and choose(0, 1) else block_ops)}"
             for _ in range(choose(*block))]
    if not may_fork or choose(0, 1):
        lines.append(f"{_pick(choose, others)} fork C{choose(0, 99)}")
    setup = ["P0 mmap 0 8", "P0 write 0"]
    filling = []
    if pressure:
        n = choose(112, 123)
        n = n if fill is None else fill
        filling = [f"P0 mmap {FILL_START} {FILL_PAGES}",
                   *(f"P0 write {FILL_START + i}" for i in range(n))]
        setup = [f"set memory {PRESSURE_ZONE}", "set swap 256", *setup]
        lines += [f"P0 write {FILL_START + n + i}" for i in range(choose(2, 5))]
    if exiting is not None:
        lines.append(f"{exiting} exit")
    head = ["set preempt full"] if preempt else []
    body = [*setup, *prefix, *filling] if fill_last else \
        [*setup[:-2], *filling, *setup[-2:], *prefix]
    return "\n".join([*head, *body, "together", *lines, "end", ""])


class Choices:
    """The generator's source of decisions: drawn from a seeded generator
    and recorded, or replayed from a recorded list (as offsets from each
    draw's lowest value, so that a smaller list is a smaller program; past
    its end every draw is the lowest value)."""

    def __init__(self, seed: int | None = None, replay: list[int] | None = None):
        self.rng = random.Random(seed) if replay is None else None
        self.replay = replay
        self.recorded: list[int] = []

    def __call__(self, lo: int, hi: int) -> int:
        if self.rng is not None:
            value = self.rng.randint(lo, hi)
        else:
            i = len(self.recorded)
            value = min(hi, lo + self.replay[i]) if i < len(self.replay) else lo
        self.recorded.append(value - lo)
        return value


def random_scenario(seed: int, **kw) -> str:
    return generate(Choices(seed), **kw)
