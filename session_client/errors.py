"""The exceptions of session_client: one hierarchy under :class:`SessionClientError`.

No raw httpx or nats exception escapes the public API; invalid arguments raise the builtin
``ValueError`` / ``TypeError`` before any I/O.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .subjects import session_subject

if TYPE_CHECKING:
    from ._policies.tally import Tally

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseTooLargeError",
    "APIResponseValidationError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "InternalServerError",
    "InvalidAnswerError",
    "NatsAuthenticationError",
    "NatsUnavailableError",
    "NotFoundError",
    "PermissionDeniedError",
    "QuorumTimeoutError",
    "QuorumUnreachableError",
    "RateLimitError",
    "RequestTooLargeError",
    "ResponseTimeoutError",
    "SessionClientError",
    "SessionClosedError",
    "SessionExpiredError",
    "SessionRejectedError",
    "UnprocessableEntityError",
    "WrongEventLoopError",
]


class SessionClientError(Exception):
    """Base class of every error this library raises (besides ``ValueError``/``TypeError``)."""


class APIError(SessionClientError):
    """The session management API answered with an error status.

    ``problem`` is the RFC 9457 body (a dict) when the server sent one.
    """

    def __init__(
        self,
        status_code: int,
        problem: dict[str, Any] | None,
        request_id: str | None,
        operation: str = "",
    ) -> None:
        self.status_code = status_code
        self.problem = problem
        self.request_id = request_id
        self.operation = operation
        title = (problem or {}).get("title") or "HTTP error"
        detail = (problem or {}).get("detail")
        text = f"{operation} -> {status_code} {title}".strip(" ->")
        if detail:
            text += f": {detail}"
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text)


class BadRequestError(APIError):
    """400: the request was malformed."""


class AuthenticationError(APIError):
    """401: the API token is missing or wrong."""


class PermissionDeniedError(APIError):
    """403: the API token may not do this."""


class NotFoundError(APIError):
    """404: the session or message does not exist."""


class ConflictError(APIError):
    """409: a conflicting state (session not active, different body for an existing id, ...)."""


class RequestTooLargeError(APIError):
    """413: the request (a ``message_data``, template or answer) is over the API's size."""


class UnprocessableEntityError(APIError):
    """422: the server rejected the data (e.g. ``message_data`` fails its template)."""


class RateLimitError(APIError):
    """429: too many requests (after the retries were spent)."""


class InternalServerError(APIError):
    """5xx: the server failed (after the retries were spent)."""


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def api_error(status_code: int, body: bytes, request_id: str | None, operation: str) -> APIError:
    """The :class:`APIError` of an error response, with its RFC 9457 body if it sent one."""
    kind = InternalServerError if status_code >= 500 else _STATUS_ERRORS.get(status_code, APIError)
    try:
        problem = json.loads(body)
    except ValueError:
        problem = None
    return kind(status_code, problem if isinstance(problem, dict) else None, request_id, operation)


class APIResponseValidationError(SessionClientError):
    """The API answered with a success status but a body that does not match the contract, or
    with a body in a ``Content-Encoding`` the client did not ask for (or a corrupt one)."""


class APIResponseTooLargeError(SessionClientError):
    """The API's response body exceeded ``max_response_bytes`` (decompressed); not retried.

    ``operation`` is the request (``"GET /sessions/abc"``), ``limit`` the limit in bytes.
    """

    def __init__(self, operation: str, limit: int) -> None:
        self.operation = operation
        self.limit = limit
        super().__init__(
            f"{operation}: the response body exceeds max_response_bytes={limit} "
            "(decompressed); raise it if such responses are expected"
        )


class APIConnectionError(SessionClientError):
    """The API could not be reached (after the retries were spent)."""


class APITimeoutError(APIConnectionError):
    """An HTTP request to the API timed out (after the retries were spent)."""


class NatsUnavailableError(SessionClientError):
    """No NATS server could be reached, so no response can be awaited. The message names the
    servers (without credentials). A wait raises it before sending anything, or later if
    nats-py gives up on a lost connection (``max_reconnect_attempts`` in ``nats_options``)."""


class NatsAuthenticationError(NatsUnavailableError):
    """A NATS server refused this client's credentials (token, user and password, nkey)."""


class ClientClosedError(SessionClientError, RuntimeError):
    """The client was closed: by :meth:`~SessionClient.close` while this call ran, or before it.

    Also a ``RuntimeError``, which a closed client raised before this class existed.
    """

    def __init__(self, message: str = "the client is closed") -> None:
        super().__init__(message)


class WrongEventLoopError(SessionClientError, RuntimeError):
    """An :class:`AsyncSessionClient` was used from an event loop other than the one it is
    bound to, while that loop is still open (its connections belong to that loop).

    Once the first loop is closed (a second ``asyncio.run``, say), the client binds to the new
    one by itself.
    """


class ResponseTimeoutError(SessionClientError, TimeoutError):
    """No response arrived within ``timeout`` seconds. The session is left as it is.

    ``subject`` is the NATS subject the client listened on: the session's subject
    (``sessions.responses.{subject_id}.{session}``), where the server publishes its answers.

    Resume with ``wait_for_response(session_id, subject_id, message_id=...)``.
    """

    def __init__(
        self, session_id: str, message_id: str | None, response_subject: str, timeout: float
    ) -> None:
        self.session_id = session_id
        self.message_id = message_id
        # The wait subscribes to the session's subject, not to the subject-wide one it is
        # built from (see session_client/_wait/_waiter.py).
        self.subject = session_subject(response_subject, session_id)
        self.timeout = timeout
        super().__init__(
            f"no response for session {session_id!r}"
            + (f" message {message_id!r}" if message_id else "")
            + f" on {self.subject!r} within {timeout:g} s"
        )


class InvalidAnswerError(SessionClientError):
    """An answer arrived that does not match the wait's ``response_schema``: forged by someone
    who may publish on the subject, or from a server that does not check answers (one older
    than typed answers). It is never returned as if valid.

    ``payload`` is the answer as it came (``ResponsePayload``); ``errors`` lists each violation
    as ``{"path": JSON Pointer into the answer, "message": ...}``.
    """

    def __init__(self, payload: dict[str, Any], errors: list[dict[str, str]]) -> None:
        self.payload = payload
        self.errors = errors
        self.session_id: str = payload.get("session_id", "")
        self.message_id: str = payload.get("message_id", "")
        listed = "; ".join(f"{error['path'] or '/'}: {error['message']}" for error in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(
            f"the answer to message {self.message_id!r} of session {self.session_id!r} does "
            f"not match its response_schema: {listed}{more}"
        )


class SessionClosedError(SessionClientError):
    """The awaited session reached a terminal status, so no response will come."""

    status = ""

    def __init__(self, session_id: str, message_id: str | None = None) -> None:
        self.session_id = session_id
        self.message_id = message_id
        super().__init__(f"session {session_id!r} is {self.status}: no response will come")


class SessionRejectedError(SessionClosedError):
    """The session was rejected (status ``FAILED``) while waiting."""

    status = "FAILED"


class SessionExpiredError(SessionClosedError):
    """The session expired (status ``EXPIRED``) while waiting."""

    status = "EXPIRED"


class _QuorumCount:
    """What a quorum got before it ended: ``answers`` (accepted, in arrival order),
    ``declined`` (refused by ``accept``) and ``unanswered`` (the ids of the messages still
    open: they are not cancelled)."""

    def _count(self, tally: Tally) -> None:
        self.answers: list[dict[str, Any]] = list(tally.answers)
        self.declined: list[dict[str, Any]] = list(tally.declined)
        self.unanswered: list[str] = tally.unanswered
        #: The ids of the messages that can no longer be answered (their session ended).
        self.failed: list[str] = list(tally.failed)


class QuorumUnreachableError(_QuorumCount, SessionClientError):
    """The quorum can no longer be reached: too many answers were declined by ``accept``, or
    the session ended (the error is then the ``__cause__``). See ``answers``, ``declined``,
    ``unanswered`` and ``failed``."""

    def __init__(self, session_id: str, tally: Tally) -> None:
        self.session_id = session_id
        self.quorum = tally.quorum
        self._count(tally)
        super().__init__(
            f"the quorum of {tally.quorum} in session {session_id!r} can no longer be reached: "
            f"{len(self.answers)} accepted, {len(self.declined)} declined, "
            f"{len(self.failed)} closed; open: {', '.join(self.unanswered) or 'none'}"
        )


class QuorumTimeoutError(_QuorumCount, ResponseTimeoutError):
    """The quorum was not reached within ``timeout`` seconds; ``message_id`` is the quorum's
    (pass it again to resume). See ``answers``, ``declined`` and ``unanswered``."""

    def __init__(
        self,
        session_id: str,
        message_id: str,
        response_subject: str,
        timeout: float,
        tally: Tally,
    ) -> None:
        super().__init__(session_id, message_id, response_subject, timeout)
        self._count(tally)
