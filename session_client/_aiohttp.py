"""The httpx transport over aiohttp: the default when aiohttp is installed (the ``aiohttp`` extra).

The generated client keeps calling httpx; only the sockets under it move from httpcore and anyio
to aiohttp: a sixth to a quarter less client CPU per call one at a time, a third as much at 50
at once (README, "The HTTP transport"). This is the one module that imports aiohttp.

What a caller sees stays httpx's: the per-request timeouts (``connect``; ``read`` per read;
``pool`` for a free connection; ``write`` is left to the attempt's deadline, aiohttp having
none), at most ``max_connections`` connections, the TLS context httpx would make from
``verify``, httpx's exception classes, and a body that streams undecoded, so the caller's size
limit and decoding apply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from yarl import URL

from . import _http
from .limits import acquire_within

__all__ = ["AiohttpTransport"]


# No response, a cut body, or something that is not HTTP.
_NOT_HTTP = (
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientPayloadError,
    aiohttp.ClientResponseError,
)


def _httpx_error(exc: Exception) -> _http.TransportError:
    """The httpx exception httpcore raises for what ``exc`` says happened."""
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return _http.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return _http.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
        return _http.ConnectError(message)
    if isinstance(exc, _NOT_HTTP):
        return _http.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.ClientConnectionError):
        return _http.ReadError(message)
    return _http.TransportError(message)


def _text_headers(headers: _http.Headers) -> list[tuple[str, str]]:
    """The headers as aiohttp takes them (it encodes them back as UTF-8); httpx's
    ``multi_items()`` first works out which encoding all of them share, at twice the cost."""
    try:
        return [(name.decode(), value.decode()) for name, value in headers.raw]
    except UnicodeDecodeError:  # not UTF-8: as httpx decodes them
        return headers.multi_items()


class _Body(_http.AsyncByteStream):
    """The response body as it arrives; closing it returns the connection to the pool, or
    closes it if the body was not read to its end."""

    __slots__ = ("_free", "_response")

    def __init__(self, response: aiohttp.ClientResponse, free: Callable[[], None]) -> None:
        self._response = response
        self._free: Callable[[], None] | None = free

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while chunk := await content.readany():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _httpx_error(exc) from exc

    async def aclose(self) -> None:
        free, self._free = self._free, None
        if free is None:
            return
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()
        free()


class AiohttpTransport(_http.AsyncBaseTransport):
    """An ``httpx.AsyncHTTPTransport`` (``verify``, ``limits``) whose connections are
    aiohttp's. The aiohttp session is made on the first request, in the loop that runs it."""

    def __init__(self, *, verify: Any, limits: _http.Limits) -> None:
        self._verify = verify
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        # At most max_connections requests hold a connection; the others wait for the pool
        # timeout, then raise httpx.PoolTimeout as httpcore's pool does.
        self._connections = asyncio.Semaphore(limits.max_connections or 2**31)  # None: no bound
        # (connect, read) -> aiohttp's timeouts: one pair per client in practice.
        self._timeouts: tuple[tuple[Any, Any], aiohttp.ClientTimeout] | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=_http.create_ssl_context(verify=self._verify),
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # httpx's client keeps the cookies and decodes nothing here (the caller does).
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            # httpx (h11) takes a header block of up to 16 KiB; aiohttp's default is 8 KiB a
            # line, which would turn a long cookie or CSP header into a protocol error.
            max_line_size=16 * 1024,
            max_field_size=16 * 1024,
        )
        # aiohttp sends a GET (any idempotent method) once more by itself when the connection
        # drops before the answer; the retries are RetryingTransport's alone, as with httpx.
        self._session._retry_connection = False
        return self._session

    def _timeout(self, timeouts: dict[str, Any]) -> aiohttp.ClientTimeout:
        key = (timeouts.get("connect"), timeouts.get("read"))
        if self._timeouts is None or self._timeouts[0] != key:
            self._timeouts = (
                key,
                aiohttp.ClientTimeout(
                    total=None, connect=None, sock_connect=key[0], sock_read=key[1]
                ),
            )
        return self._timeouts[1]

    async def handle_async_request(self, request: _http.Request) -> _http.Response:
        """Send ``request``; the response's body streams from the connection."""
        session = self._session or self._open()
        timeouts = request.extensions.get("timeout", {})
        await acquire_within(self._connections, timeouts.get("pool"))
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=_text_headers(request.headers),
                data=await request.aread() or None,
                allow_redirects=False,
                timeout=self._timeout(timeouts),
            )
        except BaseException as exc:
            self._connections.release()
            if isinstance(exc, aiohttp.ClientError | TimeoutError):
                raise _httpx_error(exc) from exc
            raise
        return _http.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, self._connections.release),
            extensions={
                "http_version": b"HTTP/%d.%d" % tuple(response.version or (1, 1)),
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        """Close the connections."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def abandon(self) -> None:
        """Let the connections go without I/O once their event loop is closed (a second
        ``asyncio.run``), as httpx's are: aiohttp would otherwise report an unclosed session
        and connector when they are collected."""
        session, self._session = self._session, None
        if session is None:
            return
        connector = session.connector
        session.detach()
        if connector is not None:
            # The synchronous part of close(), which on a closed loop only marks the connector
            # closed (close() itself is a coroutine in some aiohttp versions, not in others).
            connector._close()
