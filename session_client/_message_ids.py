"""Client-chosen message ids (``MessageId`` in ``openapi.yaml``)."""

from __future__ import annotations

import os
import time

from .validation import check_identifier

__all__ = ["message_id_or_new", "new_message_id"]


def new_message_id() -> str:
    """``msg_`` and 32 hex digits: 48 bits of Unix milliseconds, then 80 random bits (as in
    UUIDv7 and ULID), so ids sort by creation time and never collide in practice."""
    return f"msg_{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def message_id_or_new(message_id: object) -> str:
    """The caller's ``message_id``, checked, or a new one when it is None."""
    return new_message_id() if message_id is None else check_identifier("message_id", message_id)
