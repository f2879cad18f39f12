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
from typing import Callable

from ..scenario import ADVICE, PROTS

Choose = Callable[[int, int], int]

_OPS = (
    # op, weight
    ("mmap", 6), ("write", 8), ("read", 2), ("fork", 3), ("exit", 2), ("mprotect", 5),
    ("munmap", 3), ("madvise", 4), ("mremap", 3), ("maps", 1),
)
_PROTS = tuple(PROTS)
_ADVICE = tuple(a for a in ADVICE if a != "pageout") + ("pageout",)


def _pick(choose: Choose, items):
    return items[choose(0, len(items) - 1)]


def _weighted(choose: Choose) -> str:
    total = sum(w for _op, w in _OPS)
    n = choose(0, total - 1)
    for op, w in _OPS:
        if n < w:
            return op
        n -= w
    raise AssertionError("unreachable")


def generate(choose: Choose, max_ops: int = 30, window: int = 24, max_procs: int = 4) -> str:
    """One scenario's text.  ``window`` is the number of pages ops touch.

    Accesses mostly go to pages the process mapped writable (as far as a
    rough record kept here knows), so that few processes die of SIGSEGV
    before they have done anything interesting."""
    live = ["P0"]
    writable = {"P0": set()}
    next_name = 1
    lines = []
    n_ops = choose(1, max_ops)
    for _ in range(n_ops):
        proc = _pick(choose, live)
        op = _weighted(choose)
        first = choose(0, window - 1)
        count = choose(1, max(1, min(8, window - first)))
        pages = range(first, first + count)
        if op == "mmap":
            prot = _PROTS[2] if choose(0, 2) else _pick(choose, _PROTS)
            lines.append(f"{proc} mmap {first} {count} {prot}")
            if prot in ("rw", "rwx"):
                writable[proc].update(pages)
        elif op in ("read", "write"):
            mine = sorted(writable[proc])
            page = _pick(choose, mine) if mine and choose(0, 5) else first
            lines.append(f"{proc} {op} {page}")
        elif op == "fork":
            if len(live) >= max_procs:
                continue
            child = f"P{next_name}"
            next_name += 1
            lines.append(f"{proc} fork {child}")
            live.append(child)
            writable[child] = set(writable[proc])
        elif op == "exit":
            if proc == "P0" and len(live) == 1 and len(lines) < n_ops - 1:
                continue            # keep someone alive to do the rest
            lines.append(f"{proc} exit")
            live.remove(proc)
            del writable[proc]
            if not live:
                break
        elif op == "mprotect":
            prot = _pick(choose, _PROTS)
            lines.append(f"{proc} mprotect {first} {count} {prot}")
            if prot in ("rw", "rwx"):
                writable[proc].update(pages)
            else:
                writable[proc].difference_update(pages)
        elif op == "munmap":
            lines.append(f"{proc} munmap {first} {count}")
            writable[proc].difference_update(pages)
        elif op == "madvise":
            lines.append(f"{proc} madvise {first} {count} {_pick(choose, _ADVICE)}")
        elif op == "mremap":
            kind = choose(0, 2)
            if kind == 0:
                lines.append(f"{proc} mremap {first} {count} {choose(1, 8)}")
            else:
                dest = choose(0, window - 1)
                tail = " dontunmap" if kind == 2 else ""
                new = count if kind == 2 else choose(1, 8)
                lines.append(f"{proc} mremap {first} {count} {new} to {dest}{tail}")
        else:
            lines.append(f"{proc} maps")
    # Show every survivor's final layout: maps lines are half the comparison.
    lines.extend(f"{proc} maps" for proc in live)
    return "\n".join(lines) + "\n"


def random_scenario(seed: int, **kw) -> str:
    rng = random.Random(seed)
    return generate(rng.randint, **kw)
