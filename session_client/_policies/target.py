"""What a policy runs against: the client's waiter and sends, one session and subject, a
deadline, and the server's clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._wait import ResponseWaiter
from .._wait._schedule import server_clock_offset
from .group import WaitGroup

__all__ = ["Target", "server_clock"]

#: The ``Date`` header counts whole seconds: a smaller difference from this host's clock is
#: its rounding, not skew, and correcting for it would move the schedule by up to a second.
_SKEW_FLOOR = 2.0


def server_clock(date: tuple[str, float] | None) -> float:
    """The server's time now, as far as its last ``Date`` header tells (Unix seconds)."""
    offset = server_clock_offset(date)
    return time.time() + (offset if abs(offset) >= _SKEW_FLOOR else 0.0)


@dataclass(frozen=True)
class Target:
    """One policy's session, subject and deadline (the loop's time), and the client's parts."""

    waiter: ResponseWaiter
    send: Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]]
    session_id: str
    subject: str
    subject_id: str
    deadline: float
    #: How a wait ended if nothing settled it, given its timeout scope (for its span).
    unsettled: Callable[[asyncio.Timeout], str]

    def now(self) -> float:
        """The server's time now (see :func:`server_clock`)."""
        return server_clock(self.waiter.rest.date)

    async def register(self, message_ids: Sequence[str]) -> WaitGroup:
        """Listen for the answers to ``message_ids`` (before sending any)."""
        return await WaitGroup.register(
            self.waiter, self.subject, self.subject_id, self.session_id, message_ids, self.deadline
        )
