"""The one call path of every REST call, read top to bottom in :meth:`RestClient.call`: take a
slot, attempt, retry what is safe to retry, map the error, parse once. The generated route
builds the request and checks the parsed body with its model; the backend carries the bytes."""

from __future__ import annotations

import asyncio
import logging
import platform
import time
import zlib
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any

from .._json import loads
from .._version import __version__
from ..config import CallOptions, HttpOptions, Timeouts, redact_url
from ..errors import (
    APIConnectionError,
    APIResponseTooLargeError,
    APIResponseValidationError,
    APITimeoutError,
    api_error,
)
from . import _retries
from ._backend import MAX_CONNECTIONS, Backend, Request, Response, TransportError, open_backend
from ._bodies import ACCEPT_ENCODING, BodyTooLarge, UnsupportedEncoding

if TYPE_CHECKING:
    from .._session_api.types import ApiRequest
    from .._telemetry import Telemetry

__all__ = ["MAX_CONNECTIONS", "MAX_RESPONSE_BYTES", "RestClient"]

logger = logging.getLogger("session_client.retries")

#: The default ``max_response_bytes`` (decompressed): a page of sessions is the largest body.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024


class RestClient:
    """The REST API at ``base_url`` over one backend's connection pool."""

    def __init__(self, base_url: str, options: HttpOptions, telemetry: Telemetry) -> None:
        self._base_url, self._options, self._telemetry = base_url, options, telemetry
        self._backend: Backend | None = None  # opened on the first call (its import costs)
        self._closer: AsyncGenerator[None] | None = None
        self._headers = {"accept-encoding": ACCEPT_ENCODING}
        if options.api_key is not None:
            self._headers["authorization"] = f"Bearer {options.api_key}"
        self._timeouts, self._max_bytes = options.timeouts, options.max_response_bytes
        # Calls past MAX_CONNECTIONS wait here, in order, before building anything: 10,000
        # callers would otherwise all build their requests first.
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        #: The latest response's ``Date`` header, and when it came (the waiter's clock check).
        self.date: tuple[str, float] | None = None

    async def call(
        self,
        request: ApiRequest,
        parse: Callable[[int, Any], Any],
        options: CallOptions = CallOptions(),  # noqa: B008 - immutable
    ) -> Any:
        """Send ``request`` and return its success body, parsed once and accepted by the
        route's ``parse``; ``options`` override the client's for this call."""
        if self._backend is None:
            await self._open()
        method, path, route_headers, content = request
        # Lower-case names, so that a caller's header replaces the route's or the client's.
        headers = {**self._headers, **{name.lower(): v for name, v in route_headers.items()}}
        if options.extra_headers:
            headers.update(options.extra_headers)  # lower case already (config.check_headers)
        sending = Request(method, self._base_url + path, headers, content)
        timeouts = options.timeouts or self._timeouts
        retries = self._options.max_retries if options.max_retries is None else options.max_retries
        repeatable, attempt = _retries.is_repeatable(method, headers), 0
        while True:
            response, failure = None, None
            # A slot per attempt: while this call waits to retry (a server answering 503 with
            # Retry-After to twenty calls), other calls go on.
            await self._take_slot(timeouts)
            try:
                instruments = self._telemetry.on()
                if instruments is None:
                    response = await self._exchange(sending, timeouts)
                else:  # the attempt in a span, which adds its traceparent to the headers
                    response = await instruments.attempt(
                        lambda traced: self._exchange(
                            Request(method, sending.url, traced, content), timeouts
                        ),
                        *(method, sending.url, attempt, dict(headers)),
                    )
            except TransportError as exc:
                failure = exc
            finally:
                self._slots.release()
            status = None if response is None else response.status
            sent = failure is None or failure.sent
            if not _retries.should_retry(attempt, retries, repeatable, status, sent):
                break
            delay = _retries.backoff(attempt, response and response.header("retry-after"))
            logger.info(
                "retrying %s in %.2f s (attempt %d of %d)",
                *(self._operation(sending), delay, attempt + 1, retries),
            )
            await asyncio.sleep(delay)
            attempt += 1
        if response is None:
            assert failure is not None
            where, cause = redact_url(self._base_url), failure.__cause__ or failure
            if failure.timeout:
                message = f"the API at {where} did not answer in time: {failure}"
                raise APITimeoutError(message) from cause
            raise APIConnectionError(f"cannot reach the API at {where}: {failure}") from cause
        return self._result(response, sending, parse)

    async def _take_slot(self, timeouts: Timeouts) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # at once
            return
        try:
            async with asyncio.timeout(timeouts.pool):
                await self._slots.acquire()
        except TimeoutError:
            where = redact_url(self._base_url)
            raise APITimeoutError(f"no free connection to the API at {where} in time") from None

    async def _exchange(self, request: Request, timeouts: Timeouts) -> Response:
        """One attempt: send, and read the whole body within the deadline and the size cap."""
        assert self._backend is not None
        bound = asyncio.timeout(timeouts.deadline)
        try:
            async with bound:
                return await self._backend.send(request, timeouts)
        except TimeoutError:
            if not bound.expired():
                raise
            deadline = f"{timeouts.deadline:g} s"
            message = f"no complete response within {deadline} (connect, headers and body)"
            raise TransportError(message, sent=True, timeout=True) from None
        except BodyTooLarge:
            raise APIResponseTooLargeError(self._operation(request), self._max_bytes) from None
        except (UnsupportedEncoding, zlib.error) as exc:
            raise APIResponseValidationError(f"{self._operation(request)}: {exc}") from None

    def _operation(self, request: Request) -> str:
        """``GET /sessions/s1``: what an error or a retry names (built only for one)."""
        return f"{request.method} {request.url.removeprefix(self._base_url).partition('?')[0]}"

    def _result(
        self, response: Response, request: Request, parse: Callable[[int, Any], Any]
    ) -> Any:
        status = response.status
        if status >= 400:
            operation = self._operation(request)
            raise api_error(status, response.body, response.header("x-request-id"), operation)
        try:
            data = loads(response.body)
            if not isinstance(data, dict):  # the models take a list of pairs as a dict too
                raise TypeError(f"a JSON {type(data).__name__}, not an object")
            parsed = parse(status, data)
        except (ValueError, KeyError, TypeError) as exc:
            message = f"{self._operation(request)}: malformed API response: {exc!r}"
            raise APIResponseValidationError(message) from exc
        if parsed is None:
            message = f"{self._operation(request)}: undocumented status {status}"
            raise APIResponseValidationError(message)
        date = response.header("date")
        if date is not None:
            self.date = (date, time.time())
        return data

    async def _open(self) -> None:
        backend = self._backend = open_backend(self._options, self._base_url)
        python = ".".join(platform.python_version_tuple()[:2])
        agent = f"session_client_lib/{__version__} (python {python}; {backend.version})"
        self._headers["user-agent"] = agent
        self._closer = _closed_with_its_loop(backend)
        await anext(self._closer)  # started: the running loop now knows it

    async def aclose(self) -> None:
        """Close the connection pool."""
        closer, self._closer = self._closer, None
        if closer is not None:
            await closer.aclose()

    def abandon(self) -> None:
        """Let the connection pool go without I/O: its event loop is closed (``asyncio.run``
        closed it as it ended, see :func:`_closed_with_its_loop`; another way, not)."""
        if self._closer is not None and self._backend is not None:
            self._backend.abandon()
        self._closer = None


async def _closed_with_its_loop(backend: Backend) -> AsyncGenerator[None]:
    """Suspended until ``asyncio.run`` ends: it closes the async generators still open while
    its loop runs (``shutdown_asyncgens``), and so the connections, which could not be closed
    on that loop later (a client used again in a second ``asyncio.run``)."""
    try:
        yield
    finally:
        await backend.aclose()
