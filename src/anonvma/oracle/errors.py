"""Exceptions of the live-kernel oracle, and how an interrupted command ends."""

import sys

EXIT_INTERRUPTED = 130          # 128 + SIGINT, as a shell reports it


class OracleUnavailable(Exception):
    """The oracle cannot run on this machine (not root, no tracefs, no kmem
    events, no C compiler).  The message says what is missing and what to do;
    print it without a traceback."""


class OracleError(Exception):
    """A run on the live kernel failed (lost events, timeout, interpreter
    crash, unknown call site ...)."""


class ScenarioRejected(OracleError):
    """The interpreter refused the scenario file; the message is its
    ``FILE:LINE: error: ...`` line."""


def interrupted() -> int:
    """SIGINT: the session has already restored tracefs; one line, no traceback."""
    print("anonvma: interrupted; tracefs is as it was", file=sys.stderr)
    return EXIT_INTERRUPTED
