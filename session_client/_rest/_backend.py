"""What the call path needs of an HTTP library, and the choice of one.

A backend sends one request and hands back the status, the headers and the raw body as it
arrives; the call path (:mod:`._call`) does the rest the same way for every backend: the
deadline, the size cap, decoding, retries and errors. Each backend is a small module, the only
one that imports its library, imported when a client first sends a request.
"""

from __future__ import annotations

import importlib.util
import os
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "BACKENDS",
    "BACKEND_ENV",
    "Backend",
    "Reply",
    "Settings",
    "TransportError",
    "choose_backend",
    "open_backend",
]

#: The backends, each with the package it needs (the extra of the same name installs it).
BACKENDS = ("httpx", "aiohttp", "httpx2")
BACKEND_ENV = "ORG_HTTP_BACKEND"


class TransportError(Exception):
    """No complete response. ``sent``: the request may have reached the server (a failure to
    connect means it did not); ``timeout``: time ran out."""

    def __init__(self, message: str, *, sent: bool, timeout: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        self.timeout = timeout


class Reply(Protocol):
    """A response whose body is still arriving."""

    @property
    def status(self) -> int: ...

    def header(self, name: str) -> str | None:
        """The value of the header ``name`` (lower case), its lines joined by ``", "``."""

    def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, undecoded; raises :class:`TransportError`."""

    async def aclose(self) -> None:
        """Give the connection back (or close it, if the body was not read to its end)."""


class Backend(Protocol):
    """One HTTP library's connection pool."""

    #: The library and its version, e.g. ``"httpx 0.29.0"`` (for the User-Agent).
    version: str

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None
    ) -> Reply:
        """Send a request; raises :class:`TransportError`."""

    async def aclose(self) -> None:
        """Close the connections."""

    def abandon(self) -> None:
        """Let the connections go without I/O: their event loop is closed."""


@dataclass(frozen=True)
class Settings:
    """What every backend applies the same way."""

    verify: Any
    connect_timeout: float | None
    read_timeout: float | None
    max_connections: int
    #: An httpx transport for the httpx backends (tests, mocks); None: the library's own, with
    #: the proxies of the environment.
    transport: Any = None

    def tls(self) -> ssl.SSLContext:
        """The TLS context of ``verify``, as httpx makes it: ``True`` trusts ``SSL_CERT_FILE``
        or ``SSL_CERT_DIR`` when set, else certifi's bundle (the system's without certifi)."""
        verify = self.verify
        if isinstance(verify, ssl.SSLContext):
            return verify
        if verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if verify is True:
            verify = os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")
            if verify is None and importlib.util.find_spec("certifi") is not None:
                import certifi

                verify = certifi.where()
        if verify is None:
            return ssl.create_default_context()
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)


def choose_backend(name: object, transport: object) -> str:
    """The backend: ``name``, else ``ORG_HTTP_BACKEND``, else ``"httpx"``; checked now (known,
    installed, and able to take ``transport``)."""
    argument = "http_backend"
    if name is None:
        name, argument = os.environ.get(BACKEND_ENV) or "httpx", BACKEND_ENV
    if name not in BACKENDS:
        raise ValueError(f"{argument} must be one of {', '.join(BACKENDS)}, got {name!r}")
    assert isinstance(name, str)
    if importlib.util.find_spec(name) is None:
        raise ValueError(
            f"{argument} is {name!r}, which is not installed: "
            f"pip install 'session_client_lib[{name}]'"
        )
    if transport is not None:
        if name == "aiohttp":
            raise ValueError("http_transport is an httpx transport: it needs an httpx backend")
        if not callable(getattr(transport, "handle_async_request", None)):
            raise TypeError(
                "http_transport must be an httpx.AsyncBaseTransport, "
                f"got {type(transport).__name__}"
            )
    return name


def open_backend(name: str, settings: Settings) -> Backend:
    """The backend ``name`` (importing its library now)."""
    if name == "aiohttp":
        from ._aiohttp import AiohttpBackend

        return AiohttpBackend(settings)
    from ._httpx import HttpxBackend

    return HttpxBackend(importlib.import_module(name), settings)
