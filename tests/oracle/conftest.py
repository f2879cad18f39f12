"""The fixture of the live-kernel tests (marked by test_oracle.live)."""

import ctypes
import errno
import os

import pytest

from anonvma.oracle import KernelOracle, OracleUnavailable

CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 0x40000


def _libc_call(name, *args):
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        raise OSError(ctypes.get_errno(), f"{name}: {os.strerror(ctypes.get_errno())}")


@pytest.fixture(scope="session")
def live_kernel():
    """The live tests run in a mount namespace of their own (set up here,
    left at the end), so that whoever else uses tracefs on this machine
    meanwhile and the tests cannot change each other's mounts; then one
    session up front skips, with its reason, where the oracle cannot run
    (it mounts tracefs if it has to, and unmounts it again)."""
    host = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _libc_call("unshare", CLONE_NEWNS)
        _libc_call("mount", None, b"/", None, MS_REC | MS_PRIVATE, None)
        try:
            with KernelOracle():
                pass
        except OracleUnavailable as ex:
            pytest.skip(str(ex))
        yield
    finally:
        try:
            _libc_call("setns", host, CLONE_NEWNS)
        except OSError as ex:
            # EINVAL: a later test left threads behind (they share our fs
            # context), and setns refuses a multithreaded caller; the
            # namespace, with any mount made in it, ends with the process.
            if ex.errno != errno.EINVAL:
                raise
        os.close(host)
