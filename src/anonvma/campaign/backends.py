"""Where a campaign's explorations run.

A backend is a context manager with ``slots`` (how many explorations run
at once), ``submit(spec) -> handle`` and ``wait() -> (handle, result)``
(the next exploration to finish, whichever it is); ``explore_job`` does
the work in all three.

- ``InProcess``: one after another, in this process (debugging, profiling).
- ``Processes``: a pool of ``jobs`` forked processes (the default).
- ``RayCluster``: Ray tasks, on a local cluster that it starts (``--ray``)
  or on a running one it joins (``--ray ADDRESS``); the optional extra
  ``anonvma[ray]``.  A local cluster's workers import this very anonvma
  (its directory goes into their PYTHONPATH); a joined cluster's nodes need
  anonvma installed.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
from pathlib import Path

from . import CampaignError, explore_job


class InProcess:
    slots = 1

    def __enter__(self):
        self._queue: list = []
        return self

    def __exit__(self, *exc) -> None:
        self._queue = []

    def submit(self, spec: dict):
        self._queue.append(spec)
        return id(spec)

    def wait(self):
        spec = self._queue.pop(0)
        return id(spec), explore_job(spec)

    def describe(self) -> str:
        return "in-process"


class Processes:
    def __init__(self, jobs: int):
        self.slots = jobs

    def __enter__(self):
        self._pool = multiprocessing.get_context("fork").Pool(self.slots)
        self._done: queue.Queue = queue.Queue()
        self._ids = itertools.count()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self._pool.close()
        else:
            self._pool.terminate()      # an interrupt: what runs is lost, and rerun later
        self._pool.join()

    def submit(self, spec: dict):
        handle = next(self._ids)
        self._pool.apply_async(explore_job, (spec,),
                               callback=lambda r: self._done.put((handle, r, None)),
                               error_callback=lambda e: self._done.put((handle, None, e)))
        return handle

    def wait(self):
        handle, result, error = self._done.get()
        if error is not None:
            raise error
        return handle, result

    def describe(self) -> str:
        return f"multiprocessing, {self.slots} processes"


def _ray():
    try:
        import ray
    except ImportError:
        raise CampaignError("--ray needs Ray: pip install 'anonvma[ray]'") from None
    return ray


class RayCluster:
    def __init__(self, address: str | None = None, jobs: int = 2):
        self.address = address
        self.jobs = jobs
        self.slots = jobs

    def __enter__(self):
        ray = self.ray = _ray()
        package_parent = str(Path(__file__).resolve().parents[2])
        try:
            if self.address is None:
                path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH"))
                                       if p)
                ray.init(num_cpus=self.jobs, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR,
                         runtime_env={"env_vars": {"PYTHONPATH": path}})
            else:
                ray.init(address=self.address, log_to_driver=False, logging_level=logging.ERROR)
                self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise CampaignError(f"--ray {self.address or ''}: cannot start or join a Ray "
                                f"cluster: {e}".replace("  ", " ")) from None
        self._remote = ray.remote(explore_job)
        self._refs: list = []
        return self

    def __exit__(self, exc_type, *exc) -> None:
        # On an interrupt the explorations still running are simply dropped:
        # shutting down a local cluster ends its workers.  Cancelling them
        # first (ray.cancel(force=True)) races with a reply already on its
        # way, and Ray's core worker aborts on "Tried to complete task that
        # was not pending".  On a joined cluster a polite cancel asks the
        # workers to stop; the next `--resume` reruns the lost ones anyway.
        if exc_type is not None and self.address is not None:
            for ref in self._refs:
                self.ray.cancel(ref)
        self.ray.shutdown()

    def submit(self, spec: dict):
        ref = self._remote.remote(spec)
        self._refs.append(ref)
        return ref

    def wait(self):
        (ref,), self._refs = self.ray.wait(self._refs, num_returns=1)
        return ref, self.ray.get(ref)

    def describe(self) -> str:
        where = "a local cluster" if self.address is None else self.address
        return f"ray, {where}, {self.slots} workers"
