"""The ids of a policy's messages, derived from its ``message_id`` (``MessageId`` in
``openapi.yaml`` documents the suffixes). Pure."""

from __future__ import annotations

import re

from ..validation import check_identifier

__all__ = ["REMINDER_PREFIX", "escalation_id", "follow_up_of", "quorum_id", "reminder_id"]

#: What a reminder's text starts with: the contract has no field for it (``SendMessageRequest``
#: admits no other property, and older servers would refuse one).
REMINDER_PREFIX = "Reminder: "

_FOLLOW_UP = re.compile(r"(.+)~([re])([1-9][0-9]*)")


def _derived(message_id: str, suffix: str) -> str:
    derived = message_id + suffix
    if len(derived) > 128:
        raise ValueError(
            f"message_id is too long to derive a policy's message ids from ({derived!r:.60}...): "
            f"at most {128 - len(suffix)} characters"
        )
    return check_identifier("message_id", derived)


def reminder_id(message_id: str, number: int) -> str:
    """The id of the ``number``-th (from 1) reminder of ``message_id``."""
    return _derived(message_id, f"~r{number}")


def escalation_id(message_id: str, number: int) -> str:
    """The id of the ``number``-th (from 1) escalation of ``message_id``."""
    return _derived(message_id, f"~e{number}")


def quorum_id(message_id: str, number: int) -> str:
    """The id of the quorum message to the ``number``-th (from 1) channel."""
    return _derived(message_id, f"~q{number}")


def follow_up_of(message_id: str) -> tuple[str, str] | None:
    """``(original id, "reminder" | "escalation")`` if ``message_id`` is a reminder's or an
    escalation's id, else None."""
    match = _FOLLOW_UP.fullmatch(message_id)
    if match is None:
        return None
    return match[1], "reminder" if match[2] == "r" else "escalation"
