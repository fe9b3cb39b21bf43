"""How ``session-client`` reports a library error: its one line on stderr and its exit code."""

from __future__ import annotations

from ..errors import NotFoundError
from .exit_codes import ExitCode, exit_code_for
from .output import error_line

__all__ = ["report"]

#: The commands whose API operations answer 404 for a missing session or message
#: (``openapi.yaml``); create, list and expire never do.
_MAY_NOT_FIND = frozenset({"get", "send", "wait", "send-and-wait", "respond", "reject"})


def _is_the_api_s_not_found(error: NotFoundError, command: str) -> bool:
    """Whether ``error`` is the API's "does not exist": an operation that may answer 404, with
    the contract's Problem body (``type``, ``title`` and ``status``)."""
    problem = error.problem or {}
    return (
        command in _MAY_NOT_FIND
        and isinstance(problem.get("type"), str)
        and isinstance(problem.get("title"), str)
        and problem.get("status") == 404
    )


def report(error: BaseException, command: str, api_url: str) -> tuple[str, ExitCode]:
    """The error line and exit code for ``error`` (one of ``REPORTED_ERRORS``), raised by
    ``command`` against ``api_url``.

    A 404 that this API would not answer - no Problem body (a web server, a proxy), or for an
    operation that never answers 404 - means that ``api_url`` is not the API's base URL (a
    wrong base path, say), not that the session does not exist."""
    if isinstance(error, NotFoundError) and not _is_the_api_s_not_found(error, command):
        return error_line(
            "error",
            f"{error.operation} -> 404: {api_url} does not look like the session API "
            "(check --api-url or ORG_API_URL: the API's base URL, where GET /health answers)",
        ), ExitCode.ERROR
    code = exit_code_for(error)
    label = type(error).__name__ if code != ExitCode.USAGE else "error"
    return error_line(label, error), code
