"""Exploring on several cores.

The seeded strategies (random, PCT, contend) need no coordination: each worker
process explores with its own seed (``seed * jobs + worker``) and its share
of the budget.  All workers finish their share, and the failure of the
lowest-numbered failing worker is the result, so the outcome does not
depend on which process happened to be faster.  The caller shrinks, checks
and saves that failure as it would a single process's.
"""

from __future__ import annotations

from collections import Counter

from .runner import Result, explore_program
from .strategies import make_strategy

PARALLEL_STRATEGIES = ("random", "pct", "contend")


def _worker(program, strategy: str, seed: int, params: dict, budget_runs, budget_seconds) -> Result:
    return explore_program(program, make_strategy(strategy, seed=seed, **params),
                           budget_runs, budget_seconds)


def explore_parallel(program, strategy: str, seed: int, params: dict, jobs: int,
                     budget_runs: int | None, budget_seconds: float | None) -> Result:
    shares = [None] * jobs
    if budget_runs is not None:
        shares = [budget_runs // jobs + (i < budget_runs % jobs) for i in range(jobs)]
    import multiprocessing          # not on the path of a one-process exploration

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs) as pool:
        results = pool.starmap(_worker, [(program, strategy, seed * jobs + i, params, shares[i],
                                          budget_seconds) for i in range(jobs)])
    failing = next((r for r in results if r.failure is not None), None)
    merged = failing or results[0]
    merged.strategy = dict(merged.strategy, jobs=jobs)
    merged.runs = sum(r.runs for r in results)
    merged.seconds = max(r.seconds for r in results)
    merged.exhausted = all(r.exhausted for r in results)
    merged.alloc_failures = sum((r.alloc_failures for r in results), Counter())
    return merged
