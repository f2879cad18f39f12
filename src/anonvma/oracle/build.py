"""Build the freestanding scenario interpreter (interp.c) on first use.

The binary is cached under ``$XDG_CACHE_HOME/anonvma`` (or
``~/.cache/anonvma``), named by a hash of the sources, the compiler and the
flags, so a change to any of them rebuilds it.  The build goes to a temporary
name and is renamed into place, so concurrent first uses never see a partial
file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from .errors import OracleUnavailable

SOURCES = ("interp.c", "sys.h")

CFLAGS = (
    "-O2", "-static", "-nostdlib", "-ffreestanding", "-fno-stack-protector",
    "-fno-builtin", "-fno-pie", "-no-pie", "-fno-asynchronous-unwind-tables",
    # keep gcc from turning loops into memset/memcpy calls
    "-fno-tree-loop-distribute-patterns",
    "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
    "-Wl,--build-id=none", "-Wl,-z,norelro",
    # the last segment ends at the scenario base, where the heap then starts
    "-Wl,--section-start=.heapmark=0x1ffffffff000",
)

PT_LOAD, PT_TLS = 1, 7
PF_W = 2


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "anonvma"


def find_compiler() -> str:
    for cc in ("gcc", "cc"):
        path = shutil.which(cc)
        if path:
            return path
    raise OracleUnavailable(
        "no C compiler: the live-kernel oracle builds its interpreter with gcc "
        "(or cc); install gcc")


def _source_dir() -> Path:
    return Path(__file__).resolve().parent


def _key(cc: str) -> str:
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode() + b"\0" + (_source_dir() / name).read_bytes())
    h.update("\0".join((cc,) + CFLAGS).encode())
    return h.hexdigest()[:16]


def load_segments(path: str | os.PathLike) -> list[tuple[int, int]]:
    """(p_type, p_flags) of every program header of a 64-bit ELF file."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError(f"{path}: not a 64-bit ELF file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return [struct.unpack_from("<II", data, phoff + i * phentsize) for i in range(phnum)]


def check_no_writable_segment(path: str | os.PathLike) -> None:
    """The interpreter must start with no anonymous memory but its stack:
    a writable PT_LOAD (.data/.bss) would get an anon_vma of its own."""
    for p_type, p_flags in load_segments(path):
        if p_type == PT_TLS or (p_type == PT_LOAD and p_flags & PF_W):
            raise OracleUnavailable(
                f"{path}: the interpreter build has a writable or TLS segment; "
                "it must keep all its state on the stack")


def interpreter() -> Path:
    """Path of the built interpreter, building it if needed."""
    cc = find_compiler()
    target = cache_dir() / f"interp-{_key(cc)}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".interp-", dir=target.parent)
    os.close(fd)
    try:
        cmd = [cc, *CFLAGS, "-o", tmp, str(_source_dir() / "interp.c")]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise OracleUnavailable(
                f"building the oracle interpreter failed ({' '.join(cmd)}):\n"
                f"{res.stderr.strip()}")
        check_no_writable_segment(tmp)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
