"""Runs that start from the snapshot after the sequential prefix
(explore.prefix) are the runs that boot afresh: the same decisions, lock
and scheduling events, reports and allocation failures run for run, and
the same saved failure files (scenario, schedule, report) byte for byte.

The snapshot also carries lockdep's lock classes and validated chains from
the prefix into every run; the lockdep and hung-task reports below are the
proof that this reuse changes no verdict."""

import pathlib

import pytest

from anonvma.demo import example
from anonvma.explore import explore
from anonvma.explore.prefix import Prefixed, _dump
from anonvma.explore.runner import execute
from anonvma.explore.strategies import Pct, Random
from anonvma.kernel import Linux
from anonvma.scenario import parse, parse_file
from anonvma.session import Config, Session

RACE = example("fork_beside_munmap_and_mprotect.scn").read_text()

SEED = example("seed_fork_under_pressure.scn")
RECLAIM = example("reclaim_beside_fork.scn")


def runs(program, strategy, n):
    out = []
    for _ in range(n):
        strategy.new_execution()
        ex = execute(program, strategy, events=True)
        out.append((ex.schedule, ex.events, ex.reports, ex.alloc_failures,
                    ex.failure and ex.failure.text))
    return out


@pytest.mark.parametrize("make", [
    lambda: Session(parse(RACE, "race.scn")),
    lambda: Session(parse_file(str(SEED)), Config(variant="v3.0-rc2", checks=False)),
    lambda: Session(parse_file(str(RECLAIM)), Config(trace=False)),
], ids=["race", "seed-rc2", "reclaim-beside-fork"])
def test_runs_from_the_snapshot_are_the_runs_from_boot(make):
    fresh, prefixed = make(), Prefixed(make())
    assert prefixed.machine is not None
    for strategy in (lambda: Pct(seed=5), lambda: Random(seed=1)):
        a, b = runs(fresh, strategy(), 12), runs(prefixed, strategy(), 12)
        # a restored run's events start after the prefix, which nobody
        # heard again
        for x, y in zip(a, b):
            assert x[1][len(x[1]) - len(y[1]):] == y[1] and len(y[1]) > 0
        assert [x[:1] + x[2:] for x in a] == [y[:1] + y[2:] for y in b]


def pickled(prefixed, machine) -> bytes:
    return _dump(machine, prefixed.shared)


class TakesMmapLockTwice(Linux):
    """A buggy era: every write fault hangs on the mmap_lock it holds."""

    def handle_user_access(self, address, write):
        self.mmap_write_lock(self.current.mm)
        return super().handle_user_access(address, write)


def hangs():
    session = Session(parse("P0 mmap 0 4\nP0 fork P1\ntogether\nP0 write 1\nP1 mmap 8 2\nend\n"),
                      Config(lockdep=False, trace=False))
    session.kernel_class = TakesMmapLockTwice
    return session


@pytest.mark.parametrize("make, runs, fails", [
    (lambda: Session(parse(RACE, "race.scn")), 6, None),
    (lambda: Session(parse(SEED.read_text().replace("set lockdep off", "set lockdep on"),
                           "seed.scn"), Config(variant="v3.0-rc2", trace=False)), 20, "lockdep"),
    (lambda: Session(parse_file(str(RECLAIM)), Config(trace=False)), 6, None),
    (hangs, 4, "hung_task"),
], ids=["race", "seed-rc2-lockdep", "reclaim-beside-fork", "hangs"])
def test_a_boot_puts_the_machine_back_as_the_snapshot_restored_it(make, runs, fails):
    """Every object of the machine, its class, slots and items: what the
    next run starts from pickles to the same bytes as the first restore,
    whatever the runs before did, failing ones too."""
    prefixed = Prefixed(make())
    first = pickled(prefixed, prefixed.boot())
    strategy = Pct(seed=0)
    failures = set()
    for _ in range(runs):
        strategy.new_execution()
        ex = execute(prefixed, strategy)
        failures.add(ex.failure and ex.failure.kind)
        assert pickled(prefixed, prefixed.boot()) == first
    assert fails in failures


# The zone fills in the prefix, which wakes kswapd there.
KSWAPD = ("set memory 64\nset swap 128\nP0 mmap 0 80\n"
          + "".join(f"P0 write {i}\n" for i in range(80))
          + "P0 fork P1\ntogether\nP0 write 3\nP1 write 5\nend\n")


def test_a_kernel_thread_started_in_the_prefix_is_a_task_of_every_run():
    fresh = Session(parse(KSWAPD, "kswapd.scn"), Config(trace=False))
    prefixed = Prefixed(fresh)
    machine = prefixed.boot()
    assert machine.kernel.kswapd_task in machine.kernel.sched.tasks
    for strategy in (lambda: Pct(seed=2), lambda: Random(seed=2)):
        a, b = runs(fresh, strategy(), 8), runs(prefixed, strategy(), 8)
        assert [x[:1] + x[2:] for x in a] == [y[:1] + y[2:] for y in b]
        assert any(2 in d.runnable for x in b for d in x[0] if hasattr(d, "runnable"))


# ... and the block's writes take it below the low watermark again.
WAKES = ("set memory 64\nset swap 128\nP0 mmap 0 80\n"
         + "".join(f"P0 write {i}\n" for i in range(80))
         + "P0 fork P1\ntogether\n" + "".join(f"P0 write {i}\n" for i in range(0, 40, 2))
         + "P1 write 5\nend\n")


def test_the_block_wakes_the_kswapd_the_prefix_started():
    """Not a second one: installing a run's scheduler, which goes on with
    the prefix's tasks, keeps the kernel's kswapd_task."""
    fresh = Session(parse(WAKES, "wakes.scn"), Config(trace=False))
    prefixed = Prefixed(fresh)
    kswapd = prefixed.boot().kernel.kswapd_task.pid
    for strategy in (lambda: Pct(seed=2), lambda: Random(seed=2)):
        a, b = runs(fresh, strategy(), 4), runs(prefixed, strategy(), 4)
        assert [x[:1] + x[2:] for x in a] == [y[:1] + y[2:] for y in b]
        for x, y in zip(a, b):
            assert x[1][len(x[1]) - len(y[1]):] == y[1]
        assert any(e.endswith(f" {kswapd}") for y in b for e in y[1] if e.startswith("switch"))


def saved_files(result) -> dict:
    d = pathlib.Path(result.saved["dir"])
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.mark.slow
@pytest.mark.parametrize("path, text, kwargs", [
    # the RECLAIM_FS inversion: a lockdep report, shrunk
    (SEED, lambda t: t.replace("set lockdep off", "set lockdep on"),
     dict(strategy="pct", seed=0, budget_runs=200)),
    # the deadlock itself: a hung-task report, shrunk
    (SEED, lambda t: t, dict(strategy="pct", seed=2, budget_runs=400)),
], ids=["seed-lockdep", "seed-hung-task"])
def test_saved_failures_are_the_same_with_and_without_the_snapshot(tmp_path, path, text, kwargs):
    scn = tmp_path / path.name
    scn.write_text(text(path.read_text()))
    found = {}
    for once in (True, False):
        r = explore(scn, out_dir=tmp_path / f"out-{once}", progress=False, prefix_once=once,
                    **kwargs)
        assert r.failure is not None
        found[once] = (r.failure.text, r.schedule, r.failing_run, saved_files(r))
    assert found[True] == found[False]


def test_a_prefix_that_hangs_leaves_every_run_booting_afresh():
    """A task of the prefix waits for a lock nobody releases (a buggy era
    taking mmap_lock twice): no snapshot, and the runs report the hang."""
    session = Session(parse("P0 mmap 0 4\nP0 write 0\ntogether\nP0 write 1\nend\n"),
                      Config(lockdep=False, trace=False))
    session.kernel_class = TakesMmapLockTwice
    prefixed = Prefixed(session)
    assert prefixed.machine is None
    ex = execute(prefixed, Pct(seed=0))
    assert ex.failure.kind == "hung_task" and ex.failure == execute(session, Pct(seed=0)).failure


def test_a_static_lockdep_map_is_one_class_in_the_prefix_and_after(nonowait):
    """fs_reclaim's lockdep map is a module-level object: its class, made
    in the prefix, is the class the runs find it by, so a report through
    fs_reclaim names it as a run from boot does (not 'fs_reclaim#2', a
    class of a copied key whose prefix dependencies the runs would miss)."""
    texts = [explore(RECLAIM, strategy="pct", seed=2, variant=nonowait, minimise=False,
                     progress=False, prefix_once=once).failure.text
             for once in (True, False)]
    assert texts[0] == texts[1]
    assert "(fs_reclaim){" in texts[0] and "fs_reclaim#" not in texts[0]
