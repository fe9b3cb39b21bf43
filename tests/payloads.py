"""Valid NATS payloads of ``asyncapi.yaml``, for tests to start from and spoil."""

from __future__ import annotations

from typing import Any


def answer(session_id: str = "s1", message_id: str = "m1", **response: Any) -> dict[str, Any]:
    """A valid ``ResponsePayload``."""
    return {
        "session_id": session_id,
        "message_id": message_id,
        "channel_id": "c",
        "subject_id": "subj",
        "response": response or {"approved": True},
        "responded_at": "2026-11-30T10:00:00Z",
    }


def status(session_id: str = "s1", value: str = "FAILED") -> dict[str, Any]:
    """A valid ``SessionStatusPayload``."""
    return {
        "event": "session.status",
        "session_id": session_id,
        "status": value,
        "at": "2026-11-30T10:00:00Z",
    }
