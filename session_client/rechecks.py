"""When a pending wait asks the REST API instead of trusting NATS alone.

Core NATS delivers at most once: an answer published while the connection is down (the server
also disconnects a client that reads too slowly), or never published because the server's own
NATS link failed, exists only in the REST API. Each pending waiter is therefore re-checked there:

- at once after every disconnect and reconnect, then after 1, 2, 4, ... s
  (in a cluster the renewed subscription takes a while to reach every node);
- while NATS is down, every 1, 2, 4, ... s up to 30 s;
- while all is well, a slow safety net: after 60 s, doubling up to 5 minutes.

One timer per waiter and a task only while a check runs: 10,000 pending waits cost no more
than 10,000 timer handles.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from .responses import Waiter

__all__ = ["Rechecks"]

logger = logging.getLogger("session_client.rechecks")

_AFTER_EVENT = 1.0
_WHILE_DOWN_MAX = 30.0
_SAFETY_FIRST = 60.0
_SAFETY_MAX = 300.0


class Rechecks:
    """Schedules REST re-checks of the waiters between :meth:`watch` and :meth:`unwatch`.

    Args:
        check: Settles a waiter from the REST API if its answer (or the session's end) is
            there; its errors are logged, since NATS may still deliver.
        disconnected: Tells whether NATS is down right now.
    """

    def __init__(
        self, check: Callable[[Waiter], Awaitable[None]], disconnected: Callable[[], bool]
    ) -> None:
        self._check = check
        self._disconnected = disconnected
        self._watched: dict[Waiter, _Schedule] = {}

    def watch(self, waiter: Waiter, *, missed_change: bool = False) -> None:
        """Start re-checking ``waiter`` (its first check has just been done, or was not
        needed). ``missed_change``: the connection changed since it subscribed (while it was
        sending, say), so it is checked at once, as :meth:`connection_changed` would have."""
        schedule = self._watched[waiter] = _Schedule(self, waiter)
        if missed_change:
            schedule.restart()
            return
        schedule.interval = _AFTER_EVENT if self._disconnected() else _SAFETY_FIRST
        schedule.arm()

    def unwatch(self, waiter: Waiter) -> None:
        """Stop re-checking ``waiter``: its wait is over."""
        schedule = self._watched.pop(waiter, None)
        if schedule is not None:
            schedule.stop()

    def connection_changed(self) -> None:
        """NATS went down, came back or dropped messages: re-check every waiter now."""
        for schedule in self._watched.values():
            schedule.restart()

    @property
    def watched(self) -> int:
        """How many waiters are being re-checked (0 when nobody waits)."""
        return len(self._watched)


class _Schedule:
    """The re-check timer of one waiter, and the check task while one runs."""

    __slots__ = ("interval", "owner", "task", "timer", "waiter")

    def __init__(self, owner: Rechecks, waiter: Waiter) -> None:
        self.owner = owner
        self.waiter = waiter
        self.interval = _SAFETY_FIRST
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None

    def restart(self) -> None:
        """Check now, then back off again from the start."""
        self.interval = _AFTER_EVENT
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.task is None:
            self._run()

    def stop(self) -> None:
        """Cancel the timer and a check in flight."""
        if self.timer is not None:
            self.timer.cancel()
        if self.task is not None:
            self.task.cancel()
        self.timer = self.task = None

    def arm(self) -> None:
        """Check after the current interval; the next interval doubles, up to its limit."""
        delay = self.interval * (1 - 0.25 * random.random())  # jitter spreads the checks
        limit = _WHILE_DOWN_MAX if self.owner._disconnected() else _SAFETY_MAX
        self.interval = min(self.interval * 2, limit)
        self.timer = asyncio.get_running_loop().call_later(delay, self._run)

    def _run(self) -> None:
        self.timer = None
        self.task = asyncio.ensure_future(self._check())

    async def _check(self) -> None:
        try:
            await self.owner._check(self.waiter)
        except Exception as exc:  # NATS may still deliver; keep waiting
            logger.warning("re-checking the REST API failed: %r", exc)
        self.task = None
        if not self.waiter.future.done():
            self.arm()
