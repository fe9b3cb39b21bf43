"""What the call path needs of an HTTP library (the one
:func:`~session_client.config.resolve_http_backend` chose). A backend sends a request and hands
back the status, the headers and the body (read by :func:`._bodies.read_body`); the call path
(:mod:`._call`) does the rest, the same for all. Each backend is a small module, the only one
importing its library, imported on the first request."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from ..config import HttpOptions, Timeouts

__all__ = ["MAX_CONNECTIONS", "Backend", "Request", "Response", "TransportError", "open_backend"]

#: Connections per client, all kept alive between calls: not httpx's 100, whose pool
#: bookkeeping costs O(connections x idle connections) per request (encode/httpcore#1035).
#: Twenty requests in flight keep the session server busy.
MAX_CONNECTIONS = 20


class TransportError(Exception):
    """No complete response. ``sent``: the request may have reached the server (a failure to
    connect means it did not); ``timeout``: time ran out; ``kind``: the library's name for what
    happened (e.g. ``ConnectError``), for telemetry."""

    def __init__(self, exc: BaseException | str, *, sent: bool, timeout: bool = False) -> None:
        self.kind = "TransportError" if isinstance(exc, str) else type(exc).__name__
        super().__init__(exc if isinstance(exc, str) else f"{self.kind}: {exc or 'no detail'}")
        self.sent, self.timeout = sent, timeout


class Request(NamedTuple):
    """What a backend sends: ``url`` quoted by the route, ``headers`` named in lower case."""

    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes | None


class Response(NamedTuple):
    """A whole response: ``body`` decoded and read within the size cap, ``header(name)`` (lower
    case; its lines joined by ``", "``)."""

    status: int
    body: bytes
    header: Callable[[str], str | None]


class Backend(Protocol):
    """One HTTP library's connection pool. ``send`` raises :class:`TransportError` and what
    :func:`._bodies.read_body` raises; ``abandon`` lets the connections go without I/O (their
    loop is closed); ``version`` names the library and its release, for the User-Agent."""

    version: str

    async def send(self, request: Request, timeouts: Timeouts) -> Response: ...
    async def aclose(self) -> None: ...
    def abandon(self) -> None: ...


def open_backend(options: HttpOptions, base_url: str) -> Backend:
    """The backend of ``options`` for the API at ``base_url``, its library imported now."""
    if options.backend == "aiohttp":
        from ._aiohttp import AiohttpBackend

        return AiohttpBackend(options, base_url)
    from ._httpx import HttpxBackend

    return HttpxBackend(importlib.import_module(options.backend), options)
