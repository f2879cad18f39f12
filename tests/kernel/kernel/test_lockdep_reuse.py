"""lockdep at the kernel's cost structure: a lock whose chain is validated
fills a slot of the task's held_locks[] and allocates no held_lock, and the
cycle searches that earlier runs proved empty (validated_chains) are skipped
without changing a report."""

import random
import sys
import tracemalloc

import pytest

import anonvma.kernel.kernel.locking.lockdep as lockdep_mod
from anonvma.demo import example
from anonvma.explore.prefix import Prefixed
from anonvma.explore.runner import execute
from anonvma.explore.strategies import Pct, Random
from anonvma.kernel.kernel.locking.lock import lock_class_key
from anonvma.kernel.kernel.locking.lockdep import (
    Lockdep, held_locks, lock_chains, validated_chains)
from anonvma.kernel.kernel.locking.mutex import mutex, mutex_lock, mutex_trylock, mutex_unlock
from anonvma.scenario import parse, parse_file
from anonvma.session import Config, Session
from toy import ToyKernel

SEED_LOCKDEP = example("seed_fork_under_pressure.scn").read_text().replace(
    "set lockdep off", "set lockdep on")


@pytest.fixture
def searches(monkeypatch):
    """How many cycle searches lockdep ran on a run's graph."""
    count = [0]
    search = Lockdep.check_noncircular

    def counted(self, src, target):
        count[0] += 1
        return search(self, src, target)
    monkeypatch.setattr(Lockdep, "check_noncircular", counted)
    return count


def new_history(monkeypatch, reuse: bool):
    history = validated_chains() if reuse else None
    monkeypatch.setattr(Lockdep, "chain_history", history)
    return history


# -- the hit path ----------------------------------------------------------------

def test_a_validated_chain_fills_the_task_slots_and_allocates_no_held_lock(monkeypatch):
    made = []

    class counted(lockdep_mod.held_lock):
        __slots__ = ()

        def __init__(self):
            made.append(self)
            super().__init__()
    monkeypatch.setattr(lockdep_mod, "held_lock", counted)
    k = ToyKernel()
    a, b, c = (mutex(k, lock_class_key(n)) for n in "ABC")
    t = k.current = k.new_task("t1")
    mutex_lock(a); mutex_lock(b); mutex_unlock(b); mutex_unlock(a)
    assert len(made) == 2 and t.held_locks == made     # one slot per nesting level
    chains = lock_chains(k.lockdep.chains)
    for _ in range(100):
        mutex_lock(a); mutex_lock(b)
        assert held_locks(t) == made and [h.instance for h in made] == [a, b]
        mutex_unlock(b); mutex_unlock(a)
    assert len(made) == 2 and lock_chains(k.lockdep.chains) == chains
    # a free slot refers to nothing (a task holding no lock pickles)
    assert t.lockdep_depth == 0 and all(h.instance is h.acquire_ip is None for h in made)
    mutex_lock(a); mutex_lock(b); mutex_trylock(c)      # deeper: one slot more
    assert len(made) == 3 and [h.trylock for h in held_locks(t)] == [0, 0, 1]


def test_the_hit_path_saves_no_trace(monkeypatch):
    k = ToyKernel()
    a, b = (mutex(k, lock_class_key(n)) for n in "AB")
    k.current = k.new_task("t1")
    mutex_lock(a); mutex_lock(b); mutex_unlock(b); mutex_unlock(a)
    walks = []
    monkeypatch.setattr(lockdep_mod, "save_trace", lambda: walks.append(1) or [])
    monkeypatch.setattr(lockdep_mod, "_acquire_ip", lambda: walks.append(1))
    for _ in range(10):
        mutex_lock(a); mutex_lock(b); mutex_unlock(b); mutex_unlock(a)
    assert walks == []


# -- the reuse across runs -----------------------------------------------------

def abba_runs(orders):
    """One toy kernel (one boot) per run; each run takes its lock pairs."""
    reports = []
    for pairs in orders:
        k = ToyKernel()
        locks = {n: mutex(k, lock_class_key(n)) for n in "ABC"}
        for i, pair in enumerate(pairs):
            k.current = k.new_task(f"t{i}")
            for n in pair:
                mutex_lock(locks[n])
            for n in reversed(pair):
                mutex_unlock(locks[n])
        reports.append(k.lockdep.reports)
    return reports


def test_a_dependency_of_an_earlier_run_makes_no_report_in_a_later_one(monkeypatch, searches):
    new_history(monkeypatch, reuse=True)
    # run 1 records A -> B; run 2 takes B -> A alone: no cycle in run 2,
    # though the union of the runs has one; run 3 takes both and reports
    first, second, third = abba_runs([["AB"], ["BA"], ["AB", "BA"]])
    assert first == [] and second == []
    assert len(third) == 1 and "possible circular locking dependency" in third[0]
    new_history(monkeypatch, reuse=False)
    assert abba_runs([["AB"], ["BA"], ["AB", "BA"]]) == [first, second, third]


def test_a_search_proved_empty_is_skipped_in_later_runs(monkeypatch, searches):
    new_history(monkeypatch, reuse=True)
    abba_runs([["AB", "BC"]])
    assert searches[0] == 2         # B under A, C under B: one search each
    # the second run searches again for B under A, proved empty before the
    # union gained B -> C; from then on the union is the same
    abba_runs([["AB", "BC"]])
    assert searches[0] == 3
    assert abba_runs([["AB", "BC"]] * 5) == [[]] * 5 and searches[0] == 3
    # C -> A closes A -> B -> C: the union changed, and the next run searches
    # again (and finds the cycle in the run that has it)
    cycle = abba_runs([["AB", "BC", "CA"]])
    assert len(cycle[0]) == 1 and "A --> B --> C" in cycle[0][0]
    before = searches[0]
    assert abba_runs([["AB", "BC"]]) == [[]] and searches[0] > before


def explored(program, strategy, n):
    out = []
    for _ in range(n):
        strategy.new_execution()
        ex = execute(program, strategy)
        out.append((ex.schedule, ex.reports))
    return out


CASES = {
    # the RECLAIM_FS report, run 19 of PCT seed 0
    "seed-lockdep": (lambda: Session(parse(SEED_LOCKDEP, "seed.scn"),
                                     Config(variant="v3.0-rc2", trace=False)),
                     lambda: Pct(seed=0), 24),
    # two lockdep reports and the hung task (its held locks with their
    # "at:" lines), run 117 of PCT seed 2
    "seed-hung-task": (lambda: Session(parse(SEED_LOCKDEP, "seed.scn"),
                                       Config(variant="v3.0-rc2", trace=False)),
                       lambda: Pct(seed=2), 117),
    "race": (lambda: Session(parse_file(str(example("fork_beside_munmap_and_mprotect.scn"))),
                             Config(trace=False)), lambda: Random(seed=1), 30),
    "reclaim-beside-fork": (lambda: Session(parse_file(str(example("reclaim_beside_fork.scn"))),
                                            Config(trace=False)), lambda: Pct(seed=1), 30),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_reports_are_the_same_with_and_without_reuse(case, monkeypatch, searches):
    make, strategy, n = CASES[case]
    # no reuse at all: every run boots afresh and validates every chain
    new_history(monkeypatch, reuse=False)
    alone = explored(make(), strategy(), n)
    # the registry of the prefix shared by every restored machine
    start = searches[0]
    assert explored(Prefixed(make()), strategy(), n) == alone
    start, full = searches[0], searches[0] - start
    # ... and the searches that earlier runs proved empty skipped
    history = new_history(monkeypatch, reuse=True)
    assert explored(Prefixed(make()), strategy(), n) == alone
    assert history.chains and searches[0] - start < full / 2
    kinds = [kind for _, reports in alone for kind, _ in reports]
    if case.startswith("seed"):
        assert "lockdep" in kinds
    if case == "seed-hung-task":
        (hung,) = [text for _, reports in alone for kind, text in reports if kind == "hung_task"]
        assert "Showing all locks held in the system:" in hung and ", at: " in hung


def test_a_validated_chain_allocates_nothing():
    k = ToyKernel()
    a, b = (mutex(k, lock_class_key(n)) for n in "AB")
    k.current = k.new_task("t1")
    acquire, release, ip = k.lockdep.lock_acquire, k.lockdep.lock_release, sys._getframe().f_code

    def cycle():
        acquire(a, 0, 0, 0, ip); acquire(b, 0, 0, 1, ip)
        release(b, ip); release(a, ip)
    cycle()                             # the chains A and A,B(read) validated
    tracemalloc.start()
    try:
        cycle()                         # warm whatever the first traced call allocates
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        cycle(); cycle(); cycle()       # no loop: its iterator would be an allocation
        assert tracemalloc.get_traced_memory()[1] == before
    finally:
        tracemalloc.stop()


def test_the_chain_cache_validates_each_held_lock_stack_once():
    """Random lock, trylock and unlock (in and out of order) by three tasks
    on five locks, read or not: a non-trylock acquisition is validated
    exactly when the stack of (class, read) it makes, bottom to top, was not
    validated before (lookup_chain_cache_add with keys that do not collide),
    whichever task made it; equal stacks have one chain key, distinct
    stacks distinct keys."""
    k = ToyKernel()
    ld = k.lockdep
    names = "ABCDE"
    locks = {n: mutex(k, lock_class_key(n)) for n in names}
    tasks = [k.new_task(f"t{i}") for i in range(3)]
    stacks = {id(t): [] for t in tasks}      # (name, read, trylock), bottom first
    validated, keys = [], {}
    real = Lockdep.validate_chain

    def recorded(self, curr, next):
        validated.append(tuple((h.cls.name, h.read) for h in held_locks(curr)) +
                         ((next.cls.name, next.read),))
        real(self, curr, next)
    ld.validate_chain = recorded.__get__(ld)
    rng = random.Random(12)
    seen, expected = set(), []
    for _ in range(3000):
        t = rng.choice(tasks)
        k.current, stack = t, stacks[id(t)]
        held = [n for n, _, _ in stack]
        free = [n for n in names if n not in held]
        if stack and (not free or rng.random() < 0.45):
            i = rng.randrange(len(stack)) if rng.random() < 0.3 else len(stack) - 1
            name = stack.pop(i)[0]
            ld.lock_release(locks[name], None)
            # out of order: the locks above are taken again (reacquire_held_locks)
            for n, read, trylock in stack[i:]:
                if not trylock:
                    chain = tuple((m, r) for m, r, _ in stack[:stack.index((n, read, trylock)) + 1])
                    if chain not in seen:
                        seen.add(chain)
                        expected.append(chain)
        else:
            name, read, trylock = rng.choice(free), rng.choice((0, 1, 2)), rng.random() < 0.2
            stack.append((name, read, int(trylock)))
            chain = tuple((n, r) for n, r, _ in stack)
            if not trylock and chain not in seen:
                seen.add(chain)
                expected.append(chain)
            ld.lock_acquire(locks[name], 0, int(trylock), read, sys._getframe().f_code)
        key = tuple((n, r) for n, r, _ in stack)
        assert keys.setdefault(key, t.curr_chain_key) is t.curr_chain_key
    assert validated == expected and len(expected) > 200
    assert len({id(v) for v in keys.values()}) == len(keys)
    assert ld.nr_lock_chains == len(lock_chains(ld.chains)) == len(seen)


def registry(lockdep):
    """Everything of lockdep's registry a report or a validation reads."""
    return sorted(
        (cls.name, cls.idx, cls.usage_mask, sorted(cls.usage_traces.items()),
         sorted((n.name, e.dep, e.distance, tuple(e.trace)) for n, e in cls.locks_after.items()),
         sorted((n.name, e.dep) for n, e in cls.locks_before.items()))
        for cls in lockdep.classes.values()), lock_chains(lockdep.chains), sorted(
        (k.name, v) for k, v in lockdep._versions.items())


def test_each_machine_restored_from_a_snapshot_starts_from_the_prefix_registry():
    # the seed with lockdep: its runs add classes, chains, dependencies and
    # RECLAIM_FS usage bits to the registry the snapshot shares
    prefixed = Prefixed(Session(parse(SEED_LOCKDEP, "seed.scn"),
                                Config(variant="v3.0-rc2", trace=False)))
    at_prefix = registry(prefixed.boot().kernel.lockdep)
    machines = []
    boot = prefixed.boot
    prefixed.boot = lambda: machines.append(boot()) or machines[-1]
    strategy = Pct(seed=0)
    for _ in range(3):
        strategy.new_execution()
        execute(prefixed, strategy)
        ran = machines[-1].kernel.lockdep
        assert registry(ran) != at_prefix       # the run added to it
        assert registry(prefixed.boot().kernel.lockdep) == at_prefix
