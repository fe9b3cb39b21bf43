"""Bounding the REST calls a client has in flight."""

from __future__ import annotations

import asyncio
from types import TracebackType

import httpx

__all__ = ["MAX_CONNECTIONS", "RequestSlots"]

#: HTTP connections per client, all kept alive between requests. Not httpx's 100: httpcore's
#: pool bookkeeping costs O(connections x idle connections) per request (encode/httpcore#1035),
#: and 100 mostly idle connections made the sync client collapse to 100 round trips/s under
#: ``make bench``. Twenty requests in flight keep the session server busy.
MAX_CONNECTIONS = 20


class RequestSlots:
    """``async with slots:`` around one REST call: at most ``limit`` calls run at once, the
    others wait here, in order.

    A slot is taken before the request is even built. Otherwise 10,000 concurrent callers would
    all build theirs (validation, the generated client's arguments, httpx's ``Request``) before
    the first reached the socket - a second of CPU at the start of a burst in ``make bench`` -
    and would then queue inside httpcore's pool, which rescans its whole queue whenever a
    connection frees up (quadratic). Waiting for a slot counts against the ``pool`` timeout.
    """

    def __init__(self, limit: int, pool_timeout: float | None) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._pool_timeout = pool_timeout

    async def __aenter__(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # returns at once
            return
        try:
            async with asyncio.timeout(self._pool_timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free HTTP connection in time") from exc

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._slots.release()
