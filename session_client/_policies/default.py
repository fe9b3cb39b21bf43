"""The default outcome of a wait (``on_timeout=``): an answer payload no human gave."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["defaulted_payload", "is_defaulted"]


def defaulted_payload(
    session_id: str, message_id: str, channel_id: str, subject_id: str, response: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``ResponsePayload`` of the first message answered with ``response`` at the
    deadline, now, marked ``"defaulted": True``."""
    return {
        "session_id": session_id,
        "message_id": message_id,
        "channel_id": channel_id,
        "subject_id": subject_id,
        "response": dict(response),
        "responded_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "defaulted": True,
    }


def is_defaulted(payload: Mapping[str, Any]) -> bool:
    """Whether a wait's ``payload`` is its ``on_timeout`` default rather than a human's
    answer (its ``"defaulted"`` member, which only a default has)."""
    return payload.get("defaulted") is True
