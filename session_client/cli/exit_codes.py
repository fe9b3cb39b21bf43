"""The exit codes of ``session-client``: one per outcome, so shell scripts can branch on ``$?``."""

from __future__ import annotations

import enum

from ..errors import (
    NotFoundError,
    QuorumUnreachableError,
    ResponseTimeoutError,
    SessionClientError,
    SessionExpiredError,
    SessionRejectedError,
)

__all__ = ["MEANINGS", "REPORTED_ERRORS", "ExitCode", "exit_code_for", "exit_codes_help"]


class ExitCode(enum.IntEnum):
    """What ``session-client`` exits with (see :data:`MEANINGS`)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    TIMED_OUT = 4
    REJECTED = 5
    EXPIRED = 6
    UNREACHABLE = 7
    INTERRUPTED = 130


#: One line per exit code, shown by ``--help`` and in the README.
MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success; for wait and send-and-wait: the human answered",
    ExitCode.ERROR: "any other failure: API error, API or NATS unreachable, ...",
    ExitCode.USAGE: "bad arguments or configuration; nothing was sent",
    ExitCode.NOT_FOUND: "the session or message does not exist",
    ExitCode.TIMED_OUT: "no answer within --timeout; the session stays open, wait can resume",
    ExitCode.REJECTED: "the session was rejected (FAILED)",
    ExitCode.EXPIRED: "the session expired",
    ExitCode.UNREACHABLE: "quorum: too many answers declined or closed to reach the quorum",
    ExitCode.INTERRUPTED: "stopped by Ctrl-C (SIGINT), as shells report 128 + signal",
}

# Most specific first: ResponseTimeoutError is also a TimeoutError, hence an OSError.
_ERROR_CODES: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (NotFoundError, ExitCode.NOT_FOUND),
    (QuorumUnreachableError, ExitCode.UNREACHABLE),
    (ResponseTimeoutError, ExitCode.TIMED_OUT),
    (SessionRejectedError, ExitCode.REJECTED),
    (SessionExpiredError, ExitCode.EXPIRED),
    (SessionClientError, ExitCode.ERROR),
    # The library raises these for invalid arguments, before any I/O.
    (ValueError, ExitCode.USAGE),
    (TypeError, ExitCode.USAGE),
)

#: The exceptions the command reports as one line (anything else is a bug: traceback).
REPORTED_ERRORS = tuple(error for error, _ in _ERROR_CODES)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for ``error``, one of :data:`REPORTED_ERRORS`."""
    for error_type, code in _ERROR_CODES:
        if isinstance(error, error_type):
            return code
    raise TypeError(f"no exit code for {type(error).__name__}")


def exit_codes_help() -> str:
    """The exit code table for ``--help``."""
    lines = ["exit codes:"]
    for code in ExitCode:
        lines.append(f"  {code.value:<4} {MEANINGS[code]}")
    return "\n".join(lines)
