"""The httpx backend (the default), and httpx2's: httpx2 keeps httpx's API, so one class drives
either module, given as ``httpx``. It is httpx's ``AsyncClient`` as its documentation shows it:
proxies from the environment (unless a transport is given), cookies kept, its ``httpx`` log
line; respx mocks it. The body comes raw (``aiter_raw``), decoded by :func:`._bodies.read_body`
as for every backend."""

from __future__ import annotations

import asyncio
import functools
from types import ModuleType
from typing import Any

from ..config import HttpOptions, Timeouts, tls_context
from ._backend import MAX_CONNECTIONS, Request, Response, TransportError
from ._bodies import BodyTooLarge, read_body

__all__ = ["HttpxBackend"]


class HttpxBackend:
    """An ``httpx.AsyncClient`` (of the module ``httpx``), made on the first request."""

    def __init__(self, httpx: ModuleType, options: HttpOptions) -> None:
        self._httpx, self._options, self._max_bytes = httpx, options, options.max_response_bytes
        self._client: Any = None
        self._timeouts: dict[Timeouts, Any] = {}  # httpx's, one per distinct call option
        self.version = f"{httpx.__name__} {httpx.__version__}"

    def _open(self) -> Any:
        httpx, options = self._httpx, self._options
        self._client = httpx.AsyncClient(
            verify=tls_context(options.verify),
            transport=options.transport,
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
        )
        return self._client

    async def send(self, request: Request, timeouts: Timeouts) -> Response:
        """Send the request and read its response, in a task of its own: httpcore's anyio
        streams leave state on the task that reads them (anyio's per-task cancel scope
        record), kept as long as that task lives, and the caller's task may then wait hours
        for an answer (0.2 KiB per pending wait). Cancelling the caller cancels this task."""
        return await asyncio.create_task(self._exchange(request, timeouts))

    async def _exchange(self, request: Request, timeouts: Timeouts) -> Response:
        client, httpx = self._client or self._open(), self._httpx
        timeout = self._timeouts.get(timeouts)
        if timeout is None:  # the pool's wait is the call path's slot
            connect, read = timeouts.phase_bounds()
            timeout = self._timeouts[timeouts] = httpx.Timeout(read, connect=connect, pool=None)
        method, url, headers, content = request
        built = client.build_request(method, url, headers=headers, content=content, timeout=timeout)
        try:
            response = await client.send(built, stream=True)
            try:
                if response.is_stream_consumed:  # a transport's in-memory one (a mock's): decoded
                    body = response.content
                    if len(body) > self._max_bytes:
                        raise BodyTooLarge
                else:
                    next_chunk = functools.partial(anext, response.aiter_raw(), b"")
                    body = await read_body(next_chunk, response.headers.get, self._max_bytes)
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
            timed_out = isinstance(exc, httpx.TimeoutException)
            raise TransportError(exc, sent=not unsent, timeout=timed_out) from exc
        return Response(response.status_code, body, response.headers.get)

    async def aclose(self) -> None:
        """Close the connections."""
        if self._client is not None:
            await self._client.aclose()

    def abandon(self) -> None:
        """Let the connections go without I/O, their loop being closed."""
        self._client = None
