"""The httpx backend (the default), and the httpx2 one: httpx2 keeps httpx's API, so one class
drives either module, given as ``httpx``.

It is httpx's ``AsyncClient`` used as its documentation shows: proxies from ``HTTP_PROXY`` /
``HTTPS_PROXY`` / ``NO_PROXY`` (unless a transport is given), cookies kept, its ``httpx`` log
line, and respx mocks it. The body comes raw (``aiter_raw``): the call path decodes it within
its size cap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from types import ModuleType
from typing import Any

from ._backend import Settings, TransportError

__all__ = ["HttpxBackend"]


def _translate(httpx: ModuleType, exc: Exception) -> TransportError:
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return TransportError(message, sent=False, timeout=isinstance(exc, httpx.TimeoutException))
    return TransportError(message, sent=True, timeout=isinstance(exc, httpx.TimeoutException))


class _Reply:
    __slots__ = ("_httpx", "_read", "_response", "status")

    def __init__(self, httpx: ModuleType, response: Any) -> None:
        self._httpx = httpx
        self._response = response
        self.status: int = response.status_code
        # A response a transport made in memory (a mock's) comes already read, and decoded.
        self._read: bool = response.is_stream_consumed

    def header(self, name: str) -> str | None:
        if self._read and name == "content-encoding":
            return None
        value: str | None = self._response.headers.get(name)
        return value

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._read:
            yield self._response.content
            return
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except self._httpx.TransportError as exc:
            raise _translate(self._httpx, exc) from exc

    async def aclose(self) -> None:
        await self._response.aclose()


class HttpxBackend:
    """An ``httpx.AsyncClient`` (of the module ``httpx``), made on the first request."""

    def __init__(self, httpx: ModuleType, settings: Settings) -> None:
        self._httpx = httpx
        self._settings = settings
        self._client: Any = None
        self.version = f"{httpx.__name__} {httpx.__version__}"

    def _open(self) -> Any:
        httpx, settings = self._httpx, self._settings
        connections = settings.max_connections
        self._client = httpx.AsyncClient(
            verify=settings.tls(),
            transport=settings.transport,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        return self._client

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None
    ) -> _Reply:
        """Send the request; the reply's body streams from the connection."""
        client = self._client or self._open()
        request = client.build_request(method, url, headers=headers, content=content)
        try:
            response = await client.send(request, stream=True)
        except self._httpx.TransportError as exc:
            raise _translate(self._httpx, exc) from exc
        return _Reply(self._httpx, response)

    async def aclose(self) -> None:
        """Close the connections."""
        if self._client is not None:
            await self._client.aclose()

    def abandon(self) -> None:
        """Nothing to do: httpx's connections hold nothing that needs their closed loop."""
