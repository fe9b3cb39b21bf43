"""Bounding the requests inside httpx's connection pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx

__all__ = ["MAX_CONNECTIONS", "BoundedTransport"]

#: HTTP connections per client, all kept alive between requests. Not httpx's 100: httpcore's
#: pool bookkeeping costs O(connections x idle connections) per request (encode/httpcore#1035),
#: and 100 mostly idle connections made the sync client collapse to 100 round trips/s under
#: ``make bench``. Twenty requests in flight keep the session server busy.
MAX_CONNECTIONS = 20


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives its slot back when it is closed (read to the end or not)."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class BoundedTransport(httpx.AsyncBaseTransport):
    """Lets at most ``limit`` requests at a time into ``inner``; the others wait here, in order.

    httpcore's pool scans its whole queue of waiting requests each time a connection frees up,
    so thousands of queued requests cost quadratic CPU (the profile at 10,000 concurrent calls
    is all ``_assign_requests_to_connections``). An asyncio semaphore queues them in O(1) each.
    A slot is held until the response body is closed, as the pool holds its connection; the
    wait for one counts against httpx's ``pool`` timeout.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int = MAX_CONNECTIONS) -> None:
        self._inner = inner
        self._slots = asyncio.Semaphore(limit)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._slots.locked():
            timeouts = request.extensions.get("timeout") or {}
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self._slots.acquire()
            except TimeoutError as exc:
                raise httpx.PoolTimeout("no free HTTP connection in time", request=request) from exc
        else:
            await self._slots.acquire()  # returns at once
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        if response.is_closed:  # read in full already (e.g. a mocked response)
            self._slots.release()
        else:
            assert isinstance(response.stream, httpx.AsyncByteStream)
            response.stream = _ReleasingStream(response.stream, self._slots.release)
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()
