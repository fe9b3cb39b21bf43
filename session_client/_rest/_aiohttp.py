"""The aiohttp backend (the ``aiohttp`` extra): less client CPU per call than httpx's.

Through aiohttp's public API. Proxies come from ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY``
as urllib reads them, once: every request goes to the API's origin (``trust_env`` would read
them, and ``~/.netrc``, on a thread at every request: half the backend's CPU). Cookies are
kept, as httpx keeps them. One difference stays, aiohttp's own: it sends an idempotent request
once more by itself when a connection drops before the answer (RFC 9112, 9.3.1.1), before the
library's retries count.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

import aiohttp
from yarl import URL

from ..config import HttpOptions, Timeouts, tls_context
from ._backend import MAX_CONNECTIONS, Request, Response, TransportError
from ._bodies import read_body

__all__ = ["AiohttpBackend"]

#: httpx (h11 under httpcore) takes a header block of up to 100 KiB; aiohttp, 8 KiB a field.
_MAX_HEADER = 100 * 1024


def _header_of(response: aiohttp.ClientResponse) -> Callable[[str], str | None]:
    headers = response.headers  # its lines of one name joined, as httpx does
    return lambda name: ", ".join(lines) if (lines := headers.getall(name, ())) else None


class AiohttpBackend:
    """An ``aiohttp.ClientSession``, made on the first request, in the loop that runs it."""

    def __init__(self, options: HttpOptions, base_url: str) -> None:
        self._options, self._max_bytes = options, options.max_response_bytes
        self._session: aiohttp.ClientSession | None = None
        origin = URL(base_url, encoded=True)  # its host as written, as NO_PROXY names it
        proxies = urllib.request.getproxies()
        proxy = proxies.get(origin.scheme) or proxies.get("all")
        bypass = proxy is not None and urllib.request.proxy_bypass(origin.raw_host or "")
        self._proxy = None if bypass else proxy  # NO_PROXY: None
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}  # one per call option
        self.version = f"aiohttp {aiohttp.__version__}"

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=tls_context(self._options.verify),
            limit=MAX_CONNECTIONS,
            keepalive_timeout=5.0,  # httpx's
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # as httpx: for IP hosts too
            auto_decompress=False,
            max_line_size=_MAX_HEADER,
            max_field_size=_MAX_HEADER,
        )
        return self._session

    async def send(self, request: Request, timeouts: Timeouts) -> Response:
        """Send the request and read its response."""
        session = self._session or self._open()
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            connect, read = timeouts.phase_bounds()
            timeout = self._timeouts[timeouts] = aiohttp.ClientTimeout(
                total=None, sock_connect=connect, sock_read=read
            )
        try:  # released at the end: a response not read to its end closes its connection
            async with session.request(
                request.method,
                URL(request.url, encoded=True),  # the route quoted its path and query
                headers=request.headers,
                data=request.content,
                allow_redirects=False,
                proxy=self._proxy,
                timeout=timeout,
            ) as response:
                header = _header_of(response)
                body = await read_body(response.content.readany, header, self._max_bytes)
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Refused, DNS, the TLS handshake, or connect's timeout: nothing was sent.
            unsent = isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError)
            raise TransportError(
                exc, sent=not unsent, timeout=isinstance(exc, TimeoutError)
            ) from exc
        return Response(response.status, body, header)

    async def aclose(self) -> None:
        """Close the connections."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def abandon(self) -> None:
        """Let the connections go without I/O, their loop being closed: detached, aiohttp does
        not report the session as unclosed when it is collected."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            session.detach()
