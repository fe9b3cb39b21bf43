"""What ``responses()`` hands out: the items of a subject's answers consumed as a group.

Each item comes at least once: a handler keys its effects on :attr:`Answered.key` (the
``message_id``) or :attr:`SessionEnded.key`, so that a redelivered item changes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .types import ResponsePayload

__all__ = ["Answered", "ConsumedItem", "SessionEnded"]


@dataclass(frozen=True, slots=True)
class Answered:
    """A human answered a message of the subject.

    ``payload`` is the answer as the waits return it (``asyncapi.yaml``'s ``ResponsePayload``);
    ``deliveries`` counts how often it was handed out (more than 1: a member before did not
    acknowledge it, e.g. it died or its handler raised)."""

    payload: ResponsePayload
    deliveries: int = 1

    @property
    def session_id(self) -> str:
        """The session of the answered message."""
        return self.payload["session_id"]

    @property
    def message_id(self) -> str:
        """The answered message."""
        return self.payload["message_id"]

    @property
    def response(self) -> dict[str, Any]:
        """The human's answer object, as submitted."""
        return self.payload["response"]

    @property
    def key(self) -> str:
        """The idempotency key of the item: the ``message_id``."""
        return self.payload["message_id"]


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """A session of the subject was rejected (``FAILED``) or expired (``EXPIRED``), as the REST
    API confirmed; its unanswered messages will get no answer."""

    session_id: str
    status: Literal["FAILED", "EXPIRED"]
    deliveries: int = 1

    @property
    def key(self) -> str:
        """The idempotency key of the item: ``status:{session_id}:{status}``."""
        return f"status:{self.session_id}:{self.status}"


#: One item of ``responses()``: tell them apart with ``isinstance`` or ``match``.
ConsumedItem = Answered | SessionEnded
