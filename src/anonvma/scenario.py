"""The scenario language of docs/scenario-format.md: parse, validate, and
what each line does.

A scenario is user space: each line is one process doing one thing (a
syscall, a memory access, fork, exit, reading its maps).  ``parse`` turns a
file into ``Scenario`` or raises ``ScenarioError`` naming the file, the line
and the fix, before anything runs.  ``Runner.run_line`` executes one line on
a kernel model in the context of the named process, and feeds what user
space sees (maps lines, failures) to the tracepoint bus; the session
(anonvma.session) runs the scenario's steps with it.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field

from .kernel.fs.userfaultfd import UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES
from .kernel.include.errno import errorname
from .kernel.include.sched import CLONE_PTHREAD
from .kernel.mm.mempolicy import MPOL_BIND, MPOL_DEFAULT, MPOL_INTERLEAVE, MPOL_PREFERRED
from .kernel.include.mm import (
    MADV_COLD, MADV_COLLAPSE, MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_FREE,
    MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_HUGEPAGE, MADV_KEEPONFORK, MADV_NOHUGEPAGE,
    MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_WIPEONFORK,
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE, MAP_PRIVATE, MLOCK_ONFAULT,
    MREMAP_DONTUNMAP, MREMAP_FIXED,
    MREMAP_MAYMOVE, PAGE_SHIFT, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE,
)

BASE = 0x200000000000           # page 0 of every scenario (x86-64)
MAX_PAGES = 1 << 32             # so the scenario range is [BASE, BASE + 16 TiB)
SCENARIO_END = BASE + (MAX_PAGES << PAGE_SHIFT)
# The limits of the live kernel's interpreter (oracle/interp.c), which keeps
# everything on its stack: both parsers accept exactly the same files.
MAX_FILE = 256 * 1024           # bytes; a file of this size or more is refused
MAX_OPS = 16384                 # operations, counting the exits at the end
MAX_PROCESSES = 1024            # P0 and every fork
NAME_LEN = 32                   # a forked process's name is shorter

PROTS = {
    "none": PROT_NONE, "r": PROT_READ, "rw": PROT_READ | PROT_WRITE,
    "rx": PROT_READ | PROT_EXEC, "rwx": PROT_READ | PROT_WRITE | PROT_EXEC,
}
ADVICE = {
    "dontfork": MADV_DONTFORK, "dofork": MADV_DOFORK, "wipeonfork": MADV_WIPEONFORK,
    "keeponfork": MADV_KEEPONFORK, "dontneed": MADV_DONTNEED, "pageout": MADV_PAGEOUT,
    "free": MADV_FREE, "cold": MADV_COLD, "populate_read": MADV_POPULATE_READ,
    "populate_write": MADV_POPULATE_WRITE, "guard_install": MADV_GUARD_INSTALL,
    "guard_remove": MADV_GUARD_REMOVE, "hugepage": MADV_HUGEPAGE,
    "nohugepage": MADV_NOHUGEPAGE, "collapse": MADV_COLLAPSE,
}
SIGNAME = {7: "SIGBUS", 9: "SIGKILL", 11: "SIGSEGV"}
# mbind MODE -> (mode, nodes): the machine has one node, node 0
POLICIES = {"default": (MPOL_DEFAULT, frozenset()), "bind": (MPOL_BIND, frozenset({0})),
            "preferred": (MPOL_PREFERRED, frozenset({0})),
            "interleave": (MPOL_INTERLEAVE, frozenset({0}))}
_ANON_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,79}\Z")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# The one number syntax of every file: ASCII decimal, or hex after a
# lowercase 0x (int() alone would also take '+4', '1_0', '0X4' and '³').
_NUMBER = re.compile(r"0x[0-9a-fA-F]+|[0-9]+")
# Tokens are separated by spaces, tabs and carriage returns; only \n ends a line.
_SEPARATOR = str.maketrans("\t\r", "  ")
PLAIN_ONLY = ("set", "together", "end")        # words the interpreter refuses (but set swap)
# set KEY -> how its value is checked; the variant key is checked by name,
# the fault-injection keys (docs/fault-injection.md) by _fault_setting.
SETTINGS = ("variant", "memory", "swap", "lockdep", "preempt",
            "failslab.probability", "failslab.interval", "failslab.times",
            "failslab.space", "failslab.verbose", "failslab.ignore_gfp_wait",
            "failslab.cache", "failslab.task_filter", "failslab.seed", "make_it_fail",
            "fail_nth")
SLAB_CACHES = ("anon_vma", "anon_vma_chain", "vm_area_struct")
_BOOL = {"Y": True, "y": True, "1": True, "N": False, "n": False, "0": False}


class ScenarioError(Exception):
    """A malformed scenario: ``FILE:LINE: error: MESSAGE``."""

    def __init__(self, path: str, lineno: int, message: str):
        super().__init__(f"{path}:{lineno}: error: {message}")
        self.path = path
        self.lineno = lineno
        self.message = message


@dataclass(frozen=True)
class Line:
    """One operation: ``proc op args`` as written on line ``lineno``."""

    lineno: int
    proc: str
    op: str
    args: tuple

    def __str__(self) -> str:
        return " ".join([self.proc, self.op, *map(str, self.args)])


@dataclass
class Together:
    """A ``together`` ... ``end`` block: its lines start at the same moment."""

    lineno: int
    lines: list[Line]


@dataclass
class Scenario:
    path: str
    settings: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)      # Line or Together

    @property
    def concurrent(self) -> bool:
        return any(isinstance(s, Together) for s in self.steps)

    def lines_after(self, lineno: int = 0) -> int:
        """The operation lines after line ``lineno``, a together block's each."""
        return sum(len(step.lines) if isinstance(step, Together) else 1
                   for step in self.steps if step.lineno > lineno)


# -- parsing ---------------------------------------------------------------------------

def _value(text: str) -> int | None:
    """A number in the scenario syntax, or None; every number is below 2^32."""
    if not _NUMBER.fullmatch(text):
        return None
    digits = (text[2:] if text.startswith("0x") else text).lstrip("0")
    if len(digits) > 10:            # out of range, and int() has a digit limit
        return MAX_PAGES
    return int(digits or "0", 16 if text.startswith("0x") else 10)


def _pages_setting(path, lineno, key, text) -> int:
    """``set memory N`` (pages in the zone) and ``set swap N`` (swap slots)."""
    least = 64 if key == "memory" else 0
    value = _value(text)
    if value is None or not least <= value < MAX_PAGES:
        raise ScenarioError(path, lineno, f"set {key} takes a number of pages from {least} "
                            f"to {MAX_PAGES - 1:#x}, not {text!r}")
    return value


def _number(path, lineno, text, what):
    value = _value(text)
    if value is None:
        raise ScenarioError(path, lineno, f"bad {what} {text!r}: write a decimal or 0x-hex "
                            "number of pages")
    if value >= MAX_PAGES:
        raise ScenarioError(path, lineno, f"{what} {text} is out of range: pages and counts "
                            f"go from 0 to {MAX_PAGES - 1:#x}")
    return value


def fail_nth_value(text: str) -> tuple[int | None, int]:
    """``N`` or ``LINE:N`` of ``set fail_nth`` and ``--fail-nth``; ValueError
    if it is neither."""
    line, sep, nth = text.rpartition(":")
    n = _value(nth)
    target = _value(line) if sep else None
    if n is None or not 1 <= n < MAX_PAGES or (sep and (target is None or target < 1)):
        raise ValueError(text)
    return target, n


def _args(path, lineno, op, words):
    """Check one op's arguments; return them converted."""
    def need(n_min, n_max, usage):
        if not n_min <= len(words) <= n_max:
            raise ScenarioError(path, lineno, f"{op} takes {usage}")

    def page(i, what="page"):
        return _number(path, lineno, words[i], what)

    def count(i):
        return _number(path, lineno, words[i], "page count")

    def choice(word, table, what):
        if word not in table:
            raise ScenarioError(path, lineno, f"unknown {what} {word!r}: use one of "
                                + ", ".join(table))
        return word

    if op == "mmap":
        return _mmap_args(path, lineno, words, page, count)
    if op in ("munmap", "munlock", "mseal"):
        need(2, 2, "FIRST COUNT")
        return (page(0), count(1))
    if op == "mlock":
        need(2, 3, "FIRST COUNT [onfault]")
        if len(words) == 3 and words[2] != "onfault":
            raise ScenarioError(path, lineno, f"unexpected {words[2]!r}: mlock takes FIRST COUNT, "
                                "or FIRST COUNT onfault (mlock2 with MLOCK_ONFAULT)")
        return (page(0), count(1), *words[2:])
    if op == "mprotect":
        need(3, 3, "FIRST COUNT PROT")
        return (page(0), count(1), choice(words[2], PROTS, "protection"))
    if op == "madvise":
        need(3, 3, "FIRST COUNT ADVICE")
        return (page(0), count(1), choice(words[2], ADVICE, "advice"))
    if op == "mremap":
        if len(words) == 3:
            return (page(0), count(1), count(2))
        if len(words) in (5, 6) and words[3] == "to" and (len(words) == 5 or words[5] == "dontunmap"):
            return (page(0), count(1), count(2), "to", page(4, "destination page")) \
                + (("dontunmap",) if len(words) == 6 else ())
        raise ScenarioError(path, lineno, "mremap takes FIRST COUNT NEWCOUNT, or "
                            "FIRST COUNT NEWCOUNT to DEST [dontunmap]")
    if op in ("read", "write"):
        need(1, 1, "one PAGE")
        return (page(0),)
    if op == "anon_name":
        need(2, 3, "FIRST COUNT [NAME]")
        if len(words) == 3 and not _ANON_NAME.match(words[2]):
            raise ScenarioError(path, lineno, f"bad VMA name {words[2]!r}: use 1 to 79 letters, "
                                "digits, '_', '.', ':' or '-'")
        return (page(0), count(1), *words[2:])
    if op == "process_madvise":
        need(4, 4, "TARGET FIRST COUNT ADVICE (TARGET: the process whose memory is advised)")
        if not _NAME.match(words[0]):
            raise ScenarioError(path, lineno, f"bad process name {words[0]!r}: process_madvise "
                                "takes the TARGET process's name first")
        return (words[0], page(1), count(2), choice(words[3], ADVICE, "advice"))
    if op == "uffd_register":
        need(2, 2, "FIRST COUNT")
        return (page(0), count(1))
    if op == "uffd_move":
        need(3, 4, "SRC COUNT DEST [holes]")
        if len(words) == 4 and words[3] != "holes":
            raise ScenarioError(path, lineno, f"unexpected {words[3]!r}: uffd_move takes SRC "
                                "COUNT DEST, or SRC COUNT DEST holes "
                                "(UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES)")
        return (page(0), count(1), page(2, "destination page"), *words[3:])
    if op == "mbind":
        need(3, 3, "FIRST COUNT MODE")
        return (page(0), count(1), choice(words[2], POLICIES, "memory policy"))
    if op == "brk":
        need(1, 1, "the new break, a PAGE (the heap starts at page 0)")
        return (page(0),)
    if op in ("fork", "thread"):
        need(1, 1, "the CHILD's name" if op == "fork" else "the new THREAD's name")
        if not _NAME.match(words[0]):
            raise ScenarioError(path, lineno, f"bad process name {words[0]!r}: use letters, "
                                "digits and _, not starting with a digit")
        if len(words[0]) >= NAME_LEN:
            raise ScenarioError(path, lineno, f"process name {words[0]!r} is too long: at "
                                f"most {NAME_LEN - 1} characters")
        return (words[0],)
    if op == "exit":
        if words not in ([], ["thread"]):
            raise ScenarioError(path, lineno, "exit takes no arguments (exit_group), or 'thread' "
                                "(only this thread exits)")
        return tuple(words)
    if op in ("maps", "exec"):
        need(0, 0, "no arguments")
        return ()
    raise ScenarioError(path, lineno, f"unknown op {op!r}: use mmap, munmap, mprotect, madvise, "
                        "process_madvise, mremap, brk, mlock, munlock, mseal, anon_name, mbind, "
                        "uffd_register, uffd_move, read, write, "
                        "fork, thread, "
                        "exec, exit or maps")


MMAP_FLAGS = ("fixed", "noreserve")


def _mmap_args(path, lineno, words, page, count):
    """``mmap FIRST|any COUNT [PROT] [fixed] [noreserve]``: returns (FIRST or
    "any", COUNT, PROT, flag words in the order written)."""
    usage = ("mmap takes FIRST COUNT [PROT] [fixed] [noreserve], or any COUNT [PROT] "
             "[noreserve], e.g. 'mmap 0 4 rw fixed'")
    if len(words) < 2:
        raise ScenarioError(path, lineno, usage)
    first = "any" if words[0] == "any" else page(0)
    rest = words[2:]
    prot = "rw"
    if rest and rest[0] not in MMAP_FLAGS:
        prot = rest.pop(0)
        if prot not in PROTS:
            raise ScenarioError(path, lineno, f"unknown protection {prot!r}: use one of "
                                + ", ".join(PROTS) + ", then " + " or ".join(MMAP_FLAGS))
    flags = []
    for word in rest:
        if word not in MMAP_FLAGS or word in flags:
            raise ScenarioError(path, lineno, f"unexpected {word!r}: " + usage)
        flags.append(word)
    if first == "any" and "fixed" in flags:
        raise ScenarioError(path, lineno, "mmap any lets the kernel choose the address: "
                            "drop 'fixed', or give a FIRST page")
    return (first, count(1), prot, *flags)


def _fault_setting(path, lineno, key, value):
    """Check a fault-injection setting's value; return it converted."""
    def integer(low, high=MAX_PAGES - 1, hint=""):
        n = -1 if value == "-1" else _value(value)
        if n is None or not low <= n <= high:
            raise ScenarioError(path, lineno, f"bad value {value!r} for {key}: write a whole "
                                f"number from {low} to {high}{hint}")
        return n

    def names(allowed=None, what="process"):
        items = value.split(",")
        for item in items:
            if allowed is not None and item not in allowed:
                raise ScenarioError(path, lineno, f"unknown slab cache {item!r} for {key}: "
                                    "use " + ", ".join(allowed) + ", comma-separated")
            if allowed is None and not _NAME.match(item):
                raise ScenarioError(path, lineno, f"bad {what} name {item!r} for {key}: "
                                    "write process names, comma-separated")
        return tuple(items)

    if key == "failslab.probability":
        return integer(0, 100, " (percent)")
    if key == "failslab.interval":
        return integer(1)
    if key == "failslab.times":
        return integer(-1, hint=" (-1: no limit)")
    if key in ("failslab.space", "failslab.seed"):
        return integer(0)
    if key == "failslab.verbose":
        return integer(0, 2)
    if key in ("failslab.ignore_gfp_wait", "failslab.task_filter"):
        if value not in _BOOL:
            raise ScenarioError(path, lineno, f"bad value {value!r} for {key}: write Y or N "
                                "(or 1 or 0)")
        return _BOOL[value]
    if key == "failslab.cache":
        return names(SLAB_CACHES)
    if key == "make_it_fail":
        if _NUMBER.fullmatch(value):
            # LINE: the process of that line sets it for that line only
            return integer(1)
        return names()
    # fail_nth: N for P0 from the start, or LINE:N for the process of that line
    try:
        return fail_nth_value(value)
    except ValueError:
        raise ScenarioError(path, lineno, f"bad value {value!r} for fail_nth: write N, or "
                            "LINE:N to arm it just for the operation on line LINE "
                            f"(N from 1 to {MAX_PAGES - 1:#x})") from None


class _ThreadGroups:
    """Which names are threads of one process, for the names a line ends:
    ``exit`` (exit_group) ends every thread of the process, ``exit thread``
    only its own, ``exec`` every other thread."""

    def __init__(self, live):
        self.group = {name: n for n, name in enumerate(sorted(live))}
        self.groups = len(self.group)

    def add(self, child: str, parent: str | None) -> None:
        """``child`` is a thread of ``parent``'s process, or a new process."""
        if parent is not None:
            self.group[child] = self.group[parent]
        else:
            self.group[child] = self.groups
            self.groups += 1

    def gone(self, line: Line, live) -> list[str]:
        if line.op == "exit" and line.args == ("thread",):
            return [line.proc]
        if line.op not in ("exit", "exec"):
            return []
        mine = self.group[line.proc]
        gone = [name for name in live if self.group.get(name) == mine]
        if line.op == "exec":
            gone.remove(line.proc)
        return sorted(gone)


def parse(text: str, path: str = "<scenario>", live: set[str] | None = None,
          plain: bool = False) -> Scenario:
    """Parse and validate a whole scenario; raise ScenarioError at the first
    problem.  ``live`` names the processes alive before the first line (a
    scenario starts with P0 alone).  ``plain``: the file must run on the live
    kernel, so ``set`` lines and ``together`` blocks are refused where the
    interpreter refuses them."""
    sc = Scenario(path)
    live = set(live) if live is not None else {"P0"}    # who may run a line, statically
    block: Together | None = None
    block_forks, block_exits = [], []
    seen_op = False
    set_lines: dict[str, int] = {}                      # fault-injection key -> its line
    plain_lines: dict[int, str] = {}                    # lineno -> process, outside blocks
    born = set(live)                                    # every process the file has
    groups = _ThreadGroups(live)
    n_ops, n_procs = 0, len(live)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()                 # what follows the last newline is no line
    for lineno, raw in enumerate(lines, 1):
        words = raw.split("#", 1)[0].translate(_SEPARATOR).split(" ")
        words = [w for w in words if w]
        if not words:
            continue
        if plain and words[0] in PLAIN_ONLY and words[:2] != ["set", "swap"]:
            raise ScenarioError(path, lineno, f"'{words[0]}' lines are for the model only: the "
                                "live kernel runs plain files (no set but 'set swap N', no "
                                "together)")
        if words[0] == "set":
            if seen_op:
                raise ScenarioError(path, lineno, "set lines must come before the first operation")
            if len(words) != 3:
                raise ScenarioError(path, lineno, "set takes KEY VALUE, e.g. 'set variant v6.18'")
            key, value = words[1], words[2]
            if key not in SETTINGS:
                raise ScenarioError(path, lineno, f"unknown setting {key!r}: known settings are "
                                    + ", ".join(SETTINGS))
            if key == "variant":
                from .variants import UnknownVariant, get_variant, resolve_spec
                # a patch file is named from the scenario's directory
                value = resolve_spec(value, os.path.dirname(path))
                try:
                    get_variant(value)
                except UnknownVariant as e:
                    raise ScenarioError(path, lineno, f"set variant: {e}") from None
            elif key in ("memory", "swap"):
                value = _pages_setting(path, lineno, key, value)
            elif key == "lockdep":
                if value not in ("on", "off"):
                    raise ScenarioError(path, lineno, "set lockdep takes on or off")
                value = value == "on"
            elif key == "preempt":
                if value not in ("none", "full"):
                    raise ScenarioError(path, lineno, "set preempt takes none (the default) "
                                        "or full")
            else:
                value = _fault_setting(path, lineno, key, value)
                set_lines[key] = lineno
            sc.settings[key] = value
            continue
        seen_op = True
        if words == ["together"]:
            if block is not None:
                raise ScenarioError(path, lineno, "together blocks do not nest: close the "
                                    f"block of line {block.lineno} with 'end' first")
            block = Together(lineno, [])
            continue
        if words == ["end"]:
            if block is None:
                raise ScenarioError(path, lineno, "'end' without 'together'")
            if not block.lines:
                raise ScenarioError(path, lineno, "empty together block")
            sc.steps.append(block)
            live.update(block_forks)
            live.difference_update(block_exits)
            block, block_forks, block_exits = None, [], []
            continue
        proc, op = words[0], (words[1] if len(words) > 1 else "")
        if not _NAME.match(proc):
            raise ScenarioError(path, lineno, f"bad process name {proc!r}: a line starts with "
                                "the process name, then the op")
        if not op:
            raise ScenarioError(path, lineno, f"missing op after {proc!r}")
        args = _args(path, lineno, op, words[2:])
        if proc not in live:
            raise ScenarioError(path, lineno, f"unknown or exited process {proc!r}: processes "
                                "other than P0 come into being by 'fork' or 'thread'")
        if op == "process_madvise" and args[0] not in live:
            raise ScenarioError(path, lineno, f"unknown or exited target process {args[0]!r}: "
                                "process_madvise advises a process alive at this line")
        if n_ops == MAX_OPS:
            raise ScenarioError(path, lineno, f"too many operations: at most {MAX_OPS}, "
                                "counting the exits at the end")
        n_ops += 1
        line = Line(lineno, proc, op, args)
        if op in ("fork", "thread"):
            child = args[0]
            if child in live or child in block_forks:
                raise ScenarioError(path, lineno, f"{op} onto the name of a live process {child!r}: "
                                    "choose a new name, or let that process exit first")
            if n_procs == MAX_PROCESSES:
                raise ScenarioError(path, lineno, f"too many processes: at most {MAX_PROCESSES}, "
                                    "P0 included")
            n_procs += 1
            born.add(child)
            groups.add(child, proc if op == "thread" else None)
        gone = groups.gone(line, live)
        if block is None:
            plain_lines[lineno] = proc
            sc.steps.append(line)
            if op in ("fork", "thread"):
                live.add(args[0])
            live.difference_update(gone)
        else:
            block.lines.append(line)
            if op in ("fork", "thread"):
                block_forks.append(args[0])
            block_exits.extend(gone)
    if block is not None:
        raise ScenarioError(path, block.lineno, "together block without 'end'")
    if n_ops + len(live) > MAX_OPS:
        raise ScenarioError(path, len(lines), f"too many operations: at most {MAX_OPS}, "
                            f"counting the exits at the end ({len(live)} here)")
    make_it_fail = sc.settings.get("make_it_fail", ())
    if isinstance(make_it_fail, int):
        if make_it_fail not in plain_lines:
            raise ScenarioError(path, set_lines["make_it_fail"], f"make_it_fail {make_it_fail}: "
                                f"line {make_it_fail} is not an operation outside a together "
                                "block")
        make_it_fail = ()
    for name in make_it_fail:
        if name not in born:
            raise ScenarioError(path, set_lines["make_it_fail"], f"make_it_fail names {name!r}, "
                                "a process this scenario never has")
    target = sc.settings.get("fail_nth", (None, 0))[0]
    if target is not None and target not in plain_lines:
        raise ScenarioError(path, set_lines["fail_nth"], f"fail_nth {target}:...: line {target} "
                            "is not an operation outside a together block")
    return sc


def read_scenario(path: str) -> bytes:
    """The bytes of a scenario file, read as the interpreter reads it: a
    regular file (a FIFO would block, a device never end) of less than
    MAX_FILE bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise ScenarioError(path, 0, f"cannot read the scenario: {e.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise ScenarioError(path, 0, f"cannot read the scenario: {what}; give a scenario "
                                "file")
        chunks, size = [], 0
        while size < MAX_FILE and (data := os.read(fd, MAX_FILE - size)):
            chunks.append(data)
            size += len(data)
    except OSError as e:
        raise ScenarioError(path, 0, f"cannot read the scenario: {e.strerror}") from None
    finally:
        os.close(fd)
    if size >= MAX_FILE:
        raise ScenarioError(path, 0, f"the scenario is too large: at most {MAX_FILE - 1} bytes")
    return b"".join(chunks)


def decode(data: bytes, path: str) -> str:
    """A scenario file's text: UTF-8 without NUL bytes; the error names the
    line of the first offending byte."""
    nul = data.find(b"\0")
    try:
        text = data[:nul if nul >= 0 else len(data)].decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(path, data.count(b"\n", 0, e.start) + 1,
                            "not valid UTF-8: a scenario file is UTF-8 text") from None
    if nul >= 0:
        raise ScenarioError(path, data.count(b"\n", 0, nul) + 1,
                            "NUL byte: a scenario file is UTF-8 text")
    return text


def parse_file(path: str, plain: bool = False) -> Scenario:
    return parse(decode(read_scenario(path), path), path, plain=plain)


# -- running -----------------------------------------------------------------------------

class Process:
    """A scenario process: its name, its task while it lives, and why it is gone."""

    __slots__ = ("name", "task", "dead")

    def __init__(self, name: str, task):
        self.name = name
        self.task = task
        self.dead = False


class Runner:
    """Runs a scenario's lines on one kernel model, as user space would."""

    def __init__(self, kernel, make_it_fail=()):
        self.kernel = kernel
        self.procs: dict[str, Process] = {}
        self.order: list[Process] = []          # creation order, for the final exits
        # processes that write 1 to /proc/self/make-it-fail as they start
        self.make_it_fail = frozenset(make_it_fail)
        self.uffd = {}                          # mm -> its process's userfaultfd
        init = kernel.spawn_init("P0")
        self._add("P0", init)

    def _add(self, name: str, task) -> None:
        if name in self.make_it_fail:
            task.make_it_fail = True
        proc = Process(name, task)
        self.procs[name] = proc
        self.order.append(proc)

    def maps(self, proc: Process) -> list[str]:
        """What the process's ``maps`` op prints: its VMAs in the scenario range."""
        return [f"{start:x}-{end:x} {perms}"
                for start, end, perms in self.kernel.proc_pid_maps(proc.task.mm)
                if BASE <= start < SCENARIO_END]

    def exit_all(self) -> None:
        """At the end, processes still alive exit youngest first."""
        for proc in reversed(self.order):
            if not proc.dead:
                self.do_exit(proc)

    def do_exit(self, proc: Process) -> None:
        k = self.kernel
        k.current = proc.task
        k.do_group_exit()
        self.reap()

    def reap(self) -> None:
        """Processes whose task is gone (an exit_group or an exec took the
        other threads with it) run no more lines."""
        for proc in self.order:
            if proc.task.exit_state:
                proc.dead = True

    def fail(self, proc_name: str, op: str, err: str) -> None:
        tp = self.kernel.trace.user_error
        if tp.probes:
            tp(proc_name, op, err)

    def run_line(self, line: Line) -> None:
        k = self.kernel
        proc = self.procs.get(line.proc)
        if proc is None or proc.dead:
            self.fail(line.proc, line.op, "ESRCH")
            return
        k.current = proc.task
        self.run_op(proc, line)
        # back in user space: a quiescent state
        k.rcu_qs()
        # Chosen by the OOM killer meanwhile: SIGKILL on the way back to
        # user space.
        if not proc.dead and proc.task.oom_victim:
            self.fail(line.proc, line.op, "SIGKILL")
            self.do_exit(proc)

    def run_op(self, proc: Process, line: Line) -> None:
        k = self.kernel
        op, a = line.op, line.args
        if op in ("read", "write"):
            sig = k.handle_user_access(BASE + (a[0] << PAGE_SHIFT), op == "write")
            if sig:
                self.fail(line.proc, op, SIGNAME[sig])
                self.do_exit(proc)
            return
        if op == "fork":
            child = k.kernel_clone(a[0])
            if isinstance(child, int):
                self.fail(line.proc, op, errorname[-child])
                # the child never came into being: its lines answer ESRCH
                self.procs.pop(a[0], None)
            else:
                self._add(a[0], child)
            return
        if op == "thread":
            # a thread's events carry its process's name: the process that
            # runs exit_mmap() after an exit_group is a race in the kernel
            self._add(a[0], k.kernel_clone(proc.task.comm, CLONE_PTHREAD))
            return
        if op == "exit" and a:
            k.sys_exit()
            proc.dead = True
            return
        if op == "exit":
            self.do_exit(proc)
            return
        if op == "exec":
            ret = k.do_execve()
            if ret:
                self.fail(line.proc, op, errorname[-ret])
            self.reap()
            return
        if op == "brk":
            # sbrk()'s rule: a break that did not move is ENOMEM
            want = BASE + (a[0] << PAGE_SHIFT)
            if k.sys_brk(want) != want:
                self.fail(line.proc, op, "ENOMEM")
            return
        if op == "process_madvise":
            self.process_madvise(line)
            return
        if op in ("uffd_register", "uffd_move"):
            ret = self.userfaultfd(proc, a)
            if ret < 0:
                self.fail(line.proc, op, errorname.get(-ret, str(-ret)))
            return
        if op == "maps":
            tp = k.trace.user_maps
            if tp.probes:
                tp(line.proc, self.maps(proc))
            return
        ret = self.syscall(op, a)
        if ret < 0:
            self.fail(line.proc, op, errorname.get(-ret, str(-ret)))

    def process_madvise(self, line: Line) -> None:
        """A pidfd of the target's thread group: the task that leads it now
        (it may have exited and left the others running), or none if the
        target never came into being or its process is gone."""
        target, first, count, advice = line.args
        proc = self.procs.get(target)
        task = None if proc is None or proc.dead else proc.task.group_leader
        ret = self.kernel.sys_process_madvise(task, BASE + (first << PAGE_SHIFT),
                                              count << PAGE_SHIFT, ADVICE[advice])
        if ret < 0:
            self.fail(line.proc, line.op, errorname.get(-ret, str(-ret)))

    def userfaultfd(self, proc: Process, a: tuple) -> int:
        """A process opens its userfaultfd at its first uffd line; a forked
        child closes the copy of its parent's (the interpreter's rule), and
        exec closes it (O_CLOEXEC): one per mm."""
        k = self.kernel
        mm = proc.task.mm
        ctx = self.uffd.get(mm)
        if ctx is None:
            ctx = self.uffd[mm] = k.sys_userfaultfd()
        addr = BASE + (a[0] << PAGE_SHIFT)
        length = a[1] << PAGE_SHIFT
        if len(a) == 2:
            return k.userfaultfd_register(ctx, addr, length)
        mode = UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES if len(a) == 4 else 0
        return k.userfaultfd_move(ctx, BASE + (a[2] << PAGE_SHIFT), addr, length, mode)

    def mmap(self, a: tuple) -> int:
        """``mmap any`` hints at the top of the scenario range: the kernel
        takes the hint if that range is free, else maps where its top-down
        search finds room, below mmap_base and outside the scenario range."""
        length = a[1] << PAGE_SHIFT
        flags = MAP_PRIVATE | MAP_ANONYMOUS
        if a[0] == "any":
            addr = SCENARIO_END - length
        else:
            addr = BASE + (a[0] << PAGE_SHIFT)
            flags |= MAP_FIXED if "fixed" in a[3:] else MAP_FIXED_NOREPLACE
        if "noreserve" in a[3:]:
            flags |= MAP_NORESERVE
        ret = self.kernel.sys_mmap(addr, length, PROTS[a[2]], flags)
        return min(ret, 0)

    def syscall(self, op: str, a: tuple) -> int:
        k = self.kernel
        if op == "mmap":
            return self.mmap(a)
        addr = BASE + (a[0] << PAGE_SHIFT)
        length = a[1] << PAGE_SHIFT
        if op == "munmap":
            return k.sys_munmap(addr, length)
        if op == "mlock":
            return k.sys_mlock2(addr, length, MLOCK_ONFAULT) if len(a) == 3 \
                else k.sys_mlock(addr, length)
        if op == "munlock":
            return k.sys_munlock(addr, length)
        if op == "mseal":
            return k.sys_mseal(addr, length, 0)
        if op == "anon_name":
            return k.prctl_set_vma(addr, length, a[2] if len(a) == 3 else None)
        if op == "mbind":
            mode, nodes = POLICIES[a[2]]
            return k.sys_mbind(addr, length, mode, nodes, 0)
        if op == "mprotect":
            return k.sys_mprotect(addr, length, PROTS[a[2]])
        if op == "madvise":
            return k.sys_madvise(addr, length, ADVICE[a[2]])
        # mremap
        new_len = a[2] << PAGE_SHIFT
        if len(a) == 3:
            return k.sys_mremap(addr, length, new_len, 0, 0)
        flags = MREMAP_MAYMOVE | MREMAP_FIXED | (MREMAP_DONTUNMAP if len(a) == 6 else 0)
        return k.sys_mremap(addr, length, new_len, flags, BASE + (a[4] << PAGE_SHIFT))
