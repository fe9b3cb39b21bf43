"""What arrives on a response subject, as far as the contract lets the client trust it.

Anyone allowed to publish on a response subject can forge a payload, so each one is checked
against its schema in ``asyncapi.yaml`` (``ResponsePayload``, ``SessionStatusPayload``: exactly
their members, each of its type) before it may settle anything. Pure code: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from .._json import loads

__all__ = ["CLOSED_STATUSES", "Answer", "StatusEvent", "parse_payload"]

#: The terminal session statuses a ``session.status`` event may carry.
CLOSED_STATUSES = frozenset({"FAILED", "EXPIRED"})

_ANSWER_MEMBERS = frozenset(
    {"session_id", "message_id", "channel_id", "subject_id", "response", "responded_at"}
)
#: ``responded_by`` (contract 2.1.0) is optional: present only when the answer named someone.
_ANSWER_OPTIONAL = frozenset({"responded_by"})
_ANSWER_STRINGS = ("session_id", "message_id", "channel_id", "subject_id", "responded_at")
_STATUS_MEMBERS = frozenset({"event", "session_id", "status", "at"})
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


class Answer(NamedTuple):
    """A human's answer (``ResponsePayload``); ``payload`` is what the waiter returns. ``via``
    says how it came (``nats``, ``replay`` from a stream, ``rest``), ``headers`` are its NATS
    message's (``traceparent`` among them). A named tuple: made once per answer, a third of
    what a frozen dataclass costs (its ``__init__`` sets each field through ``object``)."""

    session_id: str
    message_id: str
    payload: dict[str, Any]
    via: str = "nats"
    headers: Mapping[str, str] | None = None


class StatusEvent(NamedTuple):
    """A session reached a terminal ``status`` (``SessionStatusPayload``): a claim to confirm."""

    session_id: str
    status: str


def _is_date_time(value: object) -> bool:
    """RFC 3339 ``date-time`` (what ``format: date-time`` means), with its ranges checked."""
    if not isinstance(value, str) or _DATE_TIME.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(value.upper())  # Python 3.11 on takes "Z", not "z" or "t"
    except ValueError:  # e.g. a 13th month
        return False
    return True


def _is_responded_by(value: object) -> bool:
    """``RespondedBy``: a string of 1 to 256 characters."""
    return isinstance(value, str) and 1 <= len(value) <= 256


def answer_from(
    payload: dict[str, Any], headers: Mapping[str, str] | None = None, via: str = "nats"
) -> Answer | None:
    """``payload`` as an :class:`Answer` if it is a valid ``ResponsePayload``, else None."""
    if payload.keys() != _ANSWER_MEMBERS:
        extra = payload.keys() - _ANSWER_MEMBERS
        if not extra <= _ANSWER_OPTIONAL or not payload.keys() >= _ANSWER_MEMBERS:
            return None
        if not _is_responded_by(payload["responded_by"]):
            return None
    for name in _ANSWER_STRINGS:  # a loop, not all() over a generator: once per answer
        if not isinstance(payload[name], str):
            return None
    if not isinstance(payload["response"], dict) or not _is_date_time(payload["responded_at"]):
        return None
    return Answer(payload["session_id"], payload["message_id"], payload, via, headers)


def _status_from(payload: dict[str, Any]) -> StatusEvent | None:
    if payload.keys() != _STATUS_MEMBERS or payload["event"] != "session.status":
        return None
    session_id, status = payload["session_id"], payload["status"]
    if not isinstance(session_id, str) or not isinstance(status, str):
        return None
    if status not in CLOSED_STATUSES:
        return None
    if not _is_date_time(payload["at"]):
        return None
    return StatusEvent(session_id, status)


def parse_payload(
    data: bytes, headers: Mapping[str, str] | None = None, via: str = "nats"
) -> Answer | StatusEvent | None:
    """The answer or status event in ``data`` (with its message's ``headers``, come ``via``),
    or None for anything the contract does not allow (not JSON, not an object, a member
    missing, extra or of the wrong type)."""
    try:
        payload = loads(data)
    except (ValueError, RecursionError):  # RecursionError: hostile deep nesting
        return None
    if not isinstance(payload, dict):
        return None
    if "event" in payload:
        return _status_from(payload)
    return answer_from(payload, headers, via)
