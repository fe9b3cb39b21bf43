"""What the REST API says about a message or a session, as an outcome for the one waiting on it.

Shared by the waits (:mod:`._waiter`) and the durable consumers (:mod:`._consumer`): one
mapping from a ``Message`` record to its outcome, and one confirmation that a session ended
(a ``session.status`` event on NATS is only a hint, see ``asyncapi.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import SessionClosedError, SessionExpiredError, SessionRejectedError
from ..payloads import answer_payload
from ._payloads import Answer

if TYPE_CHECKING:
    from .._rest import RestClient

__all__ = ["closed_session_error", "record_outcome"]

_CLOSED_MESSAGE_ERRORS: dict[str, type[SessionClosedError]] = {
    "CANCELLED": SessionRejectedError,
    "EXPIRED": SessionExpiredError,
}
_CLOSED_SESSION_ERRORS: dict[str, type[SessionClosedError]] = {
    "FAILED": SessionRejectedError,
    "EXPIRED": SessionExpiredError,
}


def record_outcome(message: Mapping[str, Any]) -> Answer | type[SessionClosedError] | None:
    """A ``Message`` record's outcome: its answer, the error of its closed session, or None
    while it waits for an answer. Pure."""
    state = message["state"]
    if state == "ANSWERED":
        return Answer(message["session_id"], message["message_id"], answer_payload(message), "rest")
    return _CLOSED_MESSAGE_ERRORS.get(state)


async def closed_session_error(
    rest: RestClient, session_id: str
) -> type[SessionClosedError] | None:
    """The error for the waits of ``session_id`` if the REST API says it is closed, else None:
    how a ``session.status`` event is confirmed (anyone may publish one)."""
    from .._session_api.api.sessions import get_session

    session = await rest.call(get_session.request(session_id), get_session.parse)
    return _CLOSED_SESSION_ERRORS.get(session["status"])
