"""Bounding the REST calls a client has in flight."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from types import TracebackType

from . import _http

__all__ = ["MAX_CONNECTIONS", "MAX_RESPONSE_BYTES", "RequestSlots", "acquire_within"]

#: HTTP connections per client, all kept alive between requests. Not httpx's 100: httpcore's
#: pool bookkeeping costs O(connections x idle connections) per request (encode/httpcore#1035),
#: and 100 mostly idle connections made the sync client collapse to 100 round trips/s under
#: ``make bench``. Twenty requests in flight keep the session server busy.
MAX_CONNECTIONS = 20

#: The default ``max_response_bytes``: a response body, decompressed, may have 10 MiB. A page
#: of ``list_sessions`` is the largest thing the API sends (sessions carry ``message_data``).
MAX_RESPONSE_BYTES = 10 * 1024 * 1024


async def acquire_within(slots: asyncio.Semaphore, seconds: float | None) -> None:
    """Take one of ``slots`` within ``seconds`` (``None``: however long it takes), else raise
    ``httpx.PoolTimeout``, as httpx does for a connection from its pool."""
    if not slots.locked():
        await slots.acquire()  # returns at once
        return
    try:
        async with asyncio.timeout(seconds):
            await slots.acquire()
    except TimeoutError as exc:
        raise _http.PoolTimeout("no free HTTP connection in time") from exc


class _Hold:
    """The slot the current task's REST call holds (or gave up while backing off)."""

    __slots__ = ("held", "outer", "slots", "task")

    def __init__(self, slots: RequestSlots, outer: _Hold | None) -> None:
        self.slots = slots
        self.held = True
        #: The enclosing call's hold in this task, current again when this call ends.
        self.outer = outer
        # A task started inside the call inherits this hold in its context copy: not its own.
        self.task = asyncio.current_task()


# Per task: the retrying transport runs inside the call's task, but httpx gives it no other
# way to reach the call's slot.
_current_hold: ContextVar[_Hold | None] = ContextVar("session_client_request_slot", default=None)


class RequestSlots:
    """``async with slots:`` around one REST call: at most ``limit`` calls run at once, the
    others wait here, in order.

    A slot is taken before the request is even built. Otherwise 10,000 concurrent callers would
    all build theirs (validation, the generated client's arguments, httpx's ``Request``) before
    the first reached the socket - a second of CPU at the start of a burst in ``make bench`` -
    and would then queue inside httpcore's pool, which rescans its whole queue whenever a
    connection frees up (quadratic). Waiting for a slot counts against the ``pool`` timeout.
    A call waiting to retry gives its slot up meanwhile (:meth:`released`).
    """

    def __init__(self, limit: int, pool_timeout: float | None) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._pool_timeout = pool_timeout

    async def __aenter__(self) -> None:
        await self._acquire()
        _current_hold.set(_Hold(self, _current_hold.get()))

    async def _acquire(self) -> None:
        await acquire_within(self._slots, self._pool_timeout)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        hold = _current_hold.get()
        if hold is None or hold.slots is not self:  # not entered in this task: just release
            self._slots.release()
            return
        _current_hold.set(hold.outer)
        if hold.held:
            self._slots.release()

    @contextlib.asynccontextmanager
    async def released(self) -> AsyncIterator[None]:
        """``async with slots.released():`` around a retry's back-off: the current call's slot
        serves other calls meanwhile (a server answering 503 with ``Retry-After`` to twenty
        calls must not stall every other call), and is taken back, in line, afterwards."""
        hold = _current_hold.get()
        if (
            hold is None
            or hold.slots is not self
            or hold.task is not asyncio.current_task()
            or not hold.held
        ):
            yield
            return
        hold.held = False
        self._slots.release()
        yield  # a failure or cancellation here ends the call: no slot to take back
        await self._acquire()
        hold.held = True
