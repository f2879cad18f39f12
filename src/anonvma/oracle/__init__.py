"""The live-kernel oracle: run a scenario file on this machine's kernel and
return the trace lines of its anon_vma / anon_vma_chain events.

    from anonvma.oracle import run_on_kernel, OracleUnavailable
    run = run_on_kernel("tests/scenarios/shared/a_fork_once.scn")
    run.events, run.others, run.release, run.lines

Needs root, tracefs and a C compiler; OracleUnavailable says which is missing.
A file that is not a plain scenario raises the model's ScenarioError.
"""

from .errors import OracleError, OracleUnavailable, ScenarioRejected, interrupted
from .harness import KernelOracle, KernelRun, check, run_on_kernel

__all__ = ["KernelOracle", "KernelRun", "OracleError", "OracleUnavailable",
           "ScenarioRejected", "check", "interrupted", "run_on_kernel"]
