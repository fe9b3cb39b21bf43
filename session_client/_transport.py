"""The transport under a client given no ``http_transport``: aiohttp's when a version it works
with is installed (the ``aiohttp`` extra; about half the CPU per request), else httpx's own."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from . import _http

if TYPE_CHECKING:
    from ._aiohttp import AiohttpTransport

__all__ = ["DeferredAiohttp", "default_backend", "default_transport", "supported_aiohttp"]

#: ``"aiohttp"`` or ``"httpx"``; looked up on first use (tests set it to run both).
backend: str | None = None


#: The oldest aiohttp the transport works with: the lower bound of the ``aiohttp`` extra.
AIOHTTP_OLDEST = (3, 11)


def supported_aiohttp() -> bool:
    """Whether an aiohttp the transport works with is installed (another package may have
    brought an older one): found without importing it."""
    if importlib.util.find_spec("aiohttp") is None:
        return False
    try:
        found = re.match(r"(\d+)\.(\d+)", importlib.metadata.version("aiohttp"))
    except importlib.metadata.PackageNotFoundError:  # importable, but not installed as such
        return False
    return found is not None and (int(found[1]), int(found[2])) >= AIOHTTP_OLDEST


def default_backend() -> str:
    """``"aiohttp"`` if a supported aiohttp is installed, else ``"httpx"``."""
    global backend
    if backend is None:
        backend = "aiohttp" if supported_aiohttp() else "httpx"
    return backend


class DeferredAiohttp(_http.AsyncBaseTransport):
    """The aiohttp transport, made on the first request: importing aiohttp costs more than
    ``import session_client`` itself, which neither the import nor a client's construction
    should pay."""

    def __init__(self, *, verify: Any, limits: _http.Limits) -> None:
        self._verify = verify
        self._limits = limits
        self._transport: AiohttpTransport | None = None

    def handle_async_request(self, request: _http.Request) -> Coroutine[Any, Any, _http.Response]:
        """Send ``request`` through the aiohttp transport (made now if need be)."""
        # Hands over the aiohttp transport's coroutine: no frame of its own on every request.
        transport = self._transport
        if transport is None:
            from ._aiohttp import AiohttpTransport

            transport = self._transport = AiohttpTransport(verify=self._verify, limits=self._limits)
        return transport.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the connections."""
        if self._transport is not None:
            await self._transport.aclose()

    def abandon(self) -> None:
        """Let the connections go, their event loop being closed (see
        :meth:`AiohttpTransport.abandon`)."""
        if self._transport is not None:
            self._transport.abandon()


def default_transport(verify: Any, limits: _http.Limits) -> _http.AsyncBaseTransport:
    """The transport of a client given none."""
    if default_backend() == "aiohttp":
        return DeferredAiohttp(verify=verify, limits=limits)
    return _http.AsyncHTTPTransport(verify=verify, limits=limits)
