"""The one call path of every REST call: build, take a slot, attempt, retry, map the error,
parse once.

Read top to bottom, :meth:`RestClient.call` is the whole life of a call. The generated route
builds the request and checks the parsed body with its model; the backend carries the bytes.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import platform
import time
import zlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .._version import __version__
from ..config import redact_url
from ..errors import (
    APIConnectionError,
    APIResponseTooLargeError,
    APIResponseValidationError,
    APITimeoutError,
    api_error_class,
)
from . import _retries
from ._backend import Backend, Settings, TransportError, open_backend
from ._bodies import ACCEPT_ENCODING, BodyReader, BodyTooLarge, UnsupportedEncoding

if TYPE_CHECKING:
    from .._session_api.types import ApiRequest
    from .._telemetry import Telemetry

__all__ = ["MAX_CONNECTIONS", "MAX_RESPONSE_BYTES", "RestClient", "Timeouts"]

logger = logging.getLogger("session_client.retries")

#: REST calls in flight per client, each on a connection kept alive between calls: not httpx's
#: 100, whose pool bookkeeping costs O(connections x idle connections) per request
#: (encode/httpcore#1035). Twenty requests in flight keep the session server busy.
MAX_CONNECTIONS = 20

#: The default ``max_response_bytes``: a response body, decompressed, may have 10 MiB. A page
#: of ``list_sessions`` is the largest thing the API sends.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024


class Timeouts(NamedTuple):
    """One attempt's bounds: ``deadline`` over connect, headers and the whole body (a server
    dripping a byte a second cannot hold a call past it); ``pool``, waiting for a slot."""

    connect: float | None
    read: float | None
    deadline: float | None
    pool: float | None

    @classmethod
    def of(cls, http_timeout: Any) -> Timeouts:
        """From seconds (all the same) or an ``httpx.Timeout``: the deadline is its longest
        connect/read/write value, unbounded if one of them is."""
        if isinstance(http_timeout, int | float):
            seconds = float(http_timeout)
            return cls(seconds, seconds, seconds, seconds)
        phases = (http_timeout.connect, http_timeout.read, http_timeout.write)
        for value in (*phases, http_timeout.pool):
            if value is not None and not value > 0:
                raise ValueError(f"http_timeout values must be > 0 seconds, got {http_timeout!r}")
        deadline = None if None in phases else max(phases)
        return cls(http_timeout.connect, http_timeout.read, deadline, http_timeout.pool)


class _Response(NamedTuple):
    status: int
    body: bytes
    header: Callable[[str], str | None]


class RestClient:
    """The REST API at ``base_url`` over one backend's connection pool."""

    def __init__(
        self,
        base_url: str,
        *,
        backend: str,
        settings: Settings,
        timeouts: Timeouts,
        api_key: str | None,
        max_retries: int,
        max_response_bytes: int,
        telemetry: Telemetry,
    ) -> None:
        self._base_url = base_url
        self._backend_name = backend
        self._settings = settings
        self._backend: Backend | None = None  # opened on the first call (its import costs)
        self._headers = {"Accept-Encoding": ACCEPT_ENCODING}
        if api_key is not None:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeouts = timeouts
        self._max_retries = max_retries
        self._max_bytes = max_response_bytes
        self._telemetry = telemetry
        # At most MAX_CONNECTIONS calls send at once; the others wait here, in order, before
        # building anything (10,000 callers would otherwise all build their requests first).
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        # The latest response's Date header and when it came (parsed only when asked).
        self._date: tuple[str, float] | None = None

    @property
    def clock_offset(self) -> float:
        """The server's clock minus this host's, from the latest response's ``Date`` header
        (to the second; 0 before any response or without the header)."""
        if self._date is None:
            return 0.0
        date, received = self._date
        try:
            return email.utils.parsedate_to_datetime(date).timestamp() - received
        except (TypeError, ValueError):
            return 0.0

    def _open(self) -> Backend:
        backend = self._backend = open_backend(self._backend_name, self._settings)
        python = ".".join(platform.python_version_tuple()[:2])
        self._headers["User-Agent"] = (
            f"session_client_lib/{__version__} (python {python}; {backend.version})"
        )
        return backend

    async def call(self, request: ApiRequest, parse: Callable[[int, Any], Any]) -> Any:
        """Send ``request`` (retrying what is safe to retry) and return its success body,
        parsed once and accepted by the route's ``parse``."""
        backend = self._backend or self._open()
        method, path, own_headers, content = request
        headers = {**self._headers, **own_headers}
        url = self._base_url + path
        repeatable = _retries.is_repeatable(method, own_headers)
        await self._take_slot()
        held = True
        try:
            attempt = 0
            while True:
                response: _Response | None = None
                try:
                    response = await self._attempt(backend, method, url, headers, content, attempt)
                    sent = True
                except TransportError as exc:
                    failure, sent = exc, exc.sent
                status = None if response is None else response.status
                if not _retries.should_retry(
                    attempt, self._max_retries, repeatable, status=status, sent=sent
                ):
                    break
                delay = _retries.backoff(attempt, response and response.header("retry-after"))
                logger.info(
                    "retrying %s %s in %.2f s (attempt %d of %d)",
                    *(method, path.partition("?")[0], delay, attempt + 1, self._max_retries),
                )
                # The slot serves other calls meanwhile: a server answering 503 with
                # Retry-After to twenty calls must not stall every other call.
                self._slots.release()
                held = False
                await asyncio.sleep(delay)
                await self._take_slot()
                held = True
                attempt += 1
        finally:
            if held:
                self._slots.release()
        if response is None:
            raise self._transport_error(failure) from failure
        return self._result(response, method, path, parse)

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # at once
            return
        try:
            async with asyncio.timeout(self._timeouts.pool):
                await self._slots.acquire()
        except TimeoutError:
            raise APITimeoutError(
                f"no free connection to the API at {redact_url(self._base_url)} in time"
            ) from None

    def _attempt(
        self,
        backend: Backend,
        method: str,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        attempt: int,
    ) -> Any:
        """One attempt (a coroutine), in a span when OpenTelemetry is on."""
        instruments = self._telemetry.on()
        if instruments is None:
            return self._exchange(backend, method, url, headers, content)
        return instruments.attempt(
            lambda traced: self._exchange(backend, method, url, traced, content),
            method,
            url,
            attempt,
            dict(headers),
        )

    async def _exchange(
        self,
        backend: Backend,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
    ) -> _Response:
        """Send, and read the whole body within the attempt's deadline and size cap."""
        operation = f"{method} {url.removeprefix(self._base_url).partition('?')[0]}"
        bound = asyncio.timeout(self._timeouts.deadline)
        try:
            async with bound:
                reply = await backend.send(method, url, headers, content)
                try:
                    body = await _read(reply, self._max_bytes)
                finally:
                    await reply.aclose()
        except TimeoutError:
            if not bound.expired():
                raise
            raise TransportError(
                f"no complete response within {self._timeouts.deadline:g} s "
                "(connect, headers and body)",
                sent=True,
                timeout=True,
            ) from None
        except BodyTooLarge:
            raise APIResponseTooLargeError(operation, self._max_bytes) from None
        except (UnsupportedEncoding, zlib.error) as exc:
            raise APIResponseValidationError(f"{operation}: {exc}") from None
        return _Response(reply.status, body, reply.header)

    def _transport_error(self, failure: TransportError) -> Exception:
        where = redact_url(self._base_url)
        if failure.timeout:
            return APITimeoutError(f"the API at {where} did not answer in time: {failure}")
        return APIConnectionError(f"cannot reach the API at {where}: {failure}")

    def _result(
        self, response: _Response, method: str, path: str, parse: Callable[[int, Any], Any]
    ) -> Any:
        operation = f"{method} {path.partition('?')[0]}"
        status = response.status
        if status >= 400:
            raise api_error_class(status)(
                status, _problem(response.body), response.header("x-request-id"), operation
            )
        try:
            data = json.loads(response.body)
            parsed = parse(status, data)
        except (ValueError, KeyError, TypeError) as exc:
            raise APIResponseValidationError(
                f"{operation}: malformed API response: {exc!r}"
            ) from exc
        if parsed is None:
            raise APIResponseValidationError(f"{operation}: undocumented status {status}")
        date = response.header("date")
        if date is not None:
            self._date = (date, time.time())
        return data

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._backend is not None:
            await self._backend.aclose()

    def abandon(self) -> None:
        """Let the connection pool go without I/O: its event loop is closed."""
        if self._backend is not None:
            self._backend.abandon()


async def _read(reply: Any, max_bytes: int) -> bytes:
    length = reply.header("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise BodyTooLarge  # said so up front: not worth reading
    reader = BodyReader(reply.header("content-encoding"), max_bytes)
    async for chunk in reply.chunks():
        reader.feed(chunk)
    return reader.finish()


def _problem(body: bytes) -> dict[str, Any] | None:
    try:
        problem = json.loads(body)
    except ValueError:
        return None
    return problem if isinstance(problem, dict) else None
