"""Client-chosen message ids (``MessageId`` in ``openapi.yaml``)."""

from __future__ import annotations

import secrets
import time

__all__ = ["new_message_id"]


def new_message_id() -> str:
    """``msg_`` and 32 hex digits: 48 bits of Unix milliseconds, then 80 random bits (as in
    UUIDv7 and ULID), so ids sort by creation time and never collide in practice."""
    return f"msg_{time.time_ns() // 1_000_000:012x}{secrets.randbits(80):020x}"
