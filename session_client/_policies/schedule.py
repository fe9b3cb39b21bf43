"""Which of a policy's messages are due when: its reminders and escalations, each a delay
after the first message's ``created_at`` on the server. Pure: no clock, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..validation import check_identifier, check_message
from .ids import REMINDER_PREFIX, escalation_id, reminder_id

__all__ = ["Step", "plan", "seconds_of", "split_due"]


@dataclass(frozen=True)
class Step:
    """One message a policy sends after the first: ``delay`` seconds after the first was
    created."""

    delay: float
    message_id: str
    channel_id: str
    message: str


def _delay(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    seconds = float(value)
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r:.40}")
    return seconds


def plan(
    message_id: str,
    channel_id: str,
    message: str,
    reminders: Sequence[float],
    escalate_to: Sequence[tuple[float, str]],
) -> tuple[Step, ...]:
    """The steps after the first message, in the order they fall due (ties: reminders first,
    each list in its own order); a tuple, so that a plain wait's no steps allocate nothing
    (it keeps them while pending). Raises ``ValueError``/``TypeError`` for a bad delay or
    channel, or ids too long to derive."""
    if not reminders and not escalate_to:
        return ()  # a plain wait's, at no cost
    steps = [
        Step(
            _delay(delay, "reminders"),
            reminder_id(message_id, number),
            channel_id,
            check_message(REMINDER_PREFIX + message),
        )
        for number, delay in enumerate(reminders, 1)
    ]
    for number, escalation in enumerate(escalate_to, 1):
        if not (isinstance(escalation, tuple | list) and len(escalation) == 2):
            raise TypeError("escalate_to must be a list of (seconds, channel_id) pairs")
        delay, channel = escalation
        steps.append(
            Step(
                _delay(delay, "escalate_to"),
                escalation_id(message_id, number),
                check_identifier("channel_id", channel),
                message,
            )
        )
    return tuple(sorted(steps, key=lambda step: step.delay))  # stable: ties keep the order


def seconds_of(created_at: str) -> float:
    """A record's RFC 3339 timestamp as Unix seconds."""
    return datetime.fromisoformat(created_at).timestamp()


def split_due(steps: Sequence[Step], elapsed: float) -> tuple[list[Step], float | None]:
    """The steps due ``elapsed`` seconds after the first message (``steps`` in :func:`plan`'s
    order), and the seconds until the next of the others falls due (None: none left)."""
    due = [step for step in steps if step.delay <= elapsed]
    later = steps[len(due) :]
    return due, (later[0].delay - elapsed if later else None)
