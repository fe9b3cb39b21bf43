"""The NATS payloads of ``asyncapi.yaml``, built in one place for the client and the server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["answer_payload"]


def answer_payload(message: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ResponsePayload`` published for an answered ``Message`` (as the REST API shows
    it): ``responded_by`` only when the answer named someone, so that consumers of contract
    2.0.0, which accept exactly the other six members, still take every other answer."""
    payload = {
        "session_id": message["session_id"],
        "message_id": message["message_id"],
        "channel_id": message["channel_id"],
        "subject_id": message["subject_id"],
        "response": message["response"],
        "responded_at": message["responded_at"],
    }
    responded_by = message.get("responded_by")
    if responded_by is not None:
        payload["responded_by"] = responded_by
    return payload
