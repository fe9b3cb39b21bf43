"""What the call path needs of an HTTP library, and the choice of one. A backend sends a
request and hands back the status, the headers and the body (read by :func:`._bodies.read_body`);
the call path (:mod:`._call`) does the rest, the same for all. Each backend is a small module,
the only one importing its library, imported on the first request."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from ..config import HttpOptions, Timeouts

__all__ = ["MAX_CONNECTIONS", "Backend", "Request", "Response", "TransportError", "choose_backend"]

#: The backends (each but httpx needs the extra of its name), and the oldest release of each
#: library that its backend works with (pyproject.toml's lower bounds).
_OLDEST = {"httpx": (0, 27), "aiohttp": (3, 11), "httpx2": (2, 17)}
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


def choose_backend(name: object, transport: object) -> str:
    """The backend: ``name``, else ``ORG_HTTP_BACKEND``, else httpx; checked now (known,
    installed, and able to take ``transport``)."""
    argument = "http_backend"
    if name is None:
        name, argument = os.environ.get("ORG_HTTP_BACKEND") or "httpx", "ORG_HTTP_BACKEND"
    if not isinstance(name, str) or name not in _OLDEST:
        raise ValueError(f"{argument} must be one of {', '.join(_OLDEST)}, got {name!r}")
    found = _installed_version(name)
    if found is None or found < _OLDEST[name]:
        extra = f"pip install 'session_client_lib[{name}]'"
        oldest = ".".join(map(str, _OLDEST[name]))
        raise ValueError(f"{argument} is {name!r}, which needs {name} {oldest} or newer: {extra}")
    if transport is not None and name == "aiohttp":
        raise ValueError("http_transport is an httpx transport: it needs an httpx backend")
    if transport is not None and not callable(getattr(transport, "handle_async_request", None)):
        kind = type(transport).__name__
        raise TypeError(f"http_transport must be an httpx.AsyncBaseTransport, got {kind}")
    return name


def _installed_version(name: str) -> tuple[int, int] | None:
    """The installed release of the library ``name`` (major, minor), found without importing
    it (another package may have brought an older one than the extra asks for)."""
    if importlib.util.find_spec(name) is None:
        return None
    try:
        found = re.match(r"(\d+)\.(\d+)", importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        return None
    return None if found is None else (int(found[1]), int(found[2]))


def open_backend(options: HttpOptions) -> Backend:
    """The backend of ``options``, its library imported now."""
    if options.backend == "aiohttp":
        from ._aiohttp import AiohttpBackend

        return AiohttpBackend(options)
    from ._httpx import HttpxBackend

    return HttpxBackend(importlib.import_module(options.backend), options)
