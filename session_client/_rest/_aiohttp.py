"""The aiohttp backend (the ``aiohttp`` extra): less client CPU per call than httpx's.

aiohttp is used through its public API. Proxies come from ``HTTP_PROXY`` / ``HTTPS_PROXY`` /
``NO_PROXY``, read as urllib reads them, once per origin: aiohttp's ``trust_env`` would read
them, and ``~/.netrc``, on a thread at every request (half the backend's CPU). Cookies are kept
as httpx keeps them; the body comes raw (the call path decodes it within its size cap). One
difference stays, aiohttp's own: it sends an idempotent request (GET, PUT, DELETE) once more by
itself when a connection drops before the answer (RFC 9112, 9.3.1.1), before the library's
retries count.
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncGenerator, AsyncIterator, Mapping

import aiohttp
from yarl import URL

from ._backend import Settings, TransportError

__all__ = ["AiohttpBackend"]

#: The largest header line and field taken: httpx (h11 under httpcore) takes a header block of
#: up to 100 KiB, where aiohttp's default would refuse a field over 8 KiB.
_MAX_HEADER = 100 * 1024


def _translate(exc: BaseException) -> TransportError:
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        # Nothing was sent: a refused connection, DNS, the TLS handshake, or connect's timeout.
        return TransportError(message, sent=False, timeout=isinstance(exc, TimeoutError))
    return TransportError(message, sent=True, timeout=isinstance(exc, TimeoutError))


class _Reply:
    __slots__ = ("_response", "status")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status

    def header(self, name: str) -> str | None:
        values = self._response.headers.getall(name, ())
        return ", ".join(values) if values else None

    async def chunks(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while chunk := await content.readany():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _translate(exc) from exc

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


async def _closed_with_its_loop(session: aiohttp.ClientSession) -> AsyncGenerator[None]:
    """Suspended until the loop shuts down: ``asyncio.run`` closes every async generator still
    open while its loop still runs (``loop.shutdown_asyncgens``), and so the session, which
    could not be closed on that loop afterwards (a client used again by a second
    ``asyncio.run``)."""
    try:
        yield
    finally:
        await session.close()


class AiohttpBackend:
    """An ``aiohttp.ClientSession``, made on the first request, in the loop that runs it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._closer: AsyncGenerator[None] | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}  # by scheme and host
        self.version = f"aiohttp {aiohttp.__version__}"

    async def _open(self) -> aiohttp.ClientSession:
        settings = self._settings
        session = self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=settings.tls(), limit=settings.max_connections),
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # as httpx: for IP hosts too
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
            ),
            max_line_size=_MAX_HEADER,
            max_field_size=_MAX_HEADER,
        )
        self._closer = _closed_with_its_loop(session)
        await anext(self._closer)  # started: the loop now knows it
        return session

    def _proxy(self, url: URL) -> str | None:
        """The proxy of the environment for ``url``'s origin, or None (``NO_PROXY``)."""
        key = (url.scheme, url.raw_host or "")
        if key not in self._proxies:
            proxies = urllib.request.getproxies()
            proxy = proxies.get(url.scheme) or proxies.get("all")
            if proxy is not None and urllib.request.proxy_bypass(key[1]):
                proxy = None
            self._proxies[key] = proxy
        return self._proxies[key]

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None
    ) -> _Reply:
        """Send the request; the reply's body streams from the connection."""
        session = self._session or await self._open()
        target = URL(url, encoded=True)  # the route quoted its path and query
        try:
            response = await session.request(
                method,
                target,
                headers=headers,
                data=content,
                allow_redirects=False,
                proxy=self._proxy(target),
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _translate(exc) from exc
        return _Reply(response)

    async def aclose(self) -> None:
        """Close the connections."""
        closer, self._closer, self._session = self._closer, None, None
        if closer is not None:
            await closer.aclose()

    def abandon(self) -> None:
        """Let the connections go, their event loop being closed (``asyncio.run`` closed them
        as it ended, see :func:`_closed_with_its_loop`)."""
        self._closer = self._session = None
