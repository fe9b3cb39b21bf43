"""The one call path of every REST call, read top to bottom in :meth:`RestClient.call`: take a
slot, attempt, retry what is safe to retry, map the error, parse once. The generated route
builds the request and checks the parsed body with its model; the backend carries the bytes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import platform
import time
import zlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

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
from ._backend import MAX_CONNECTIONS, Backend, TransportError, open_backend
from ._bodies import ACCEPT_ENCODING, BodyReader, BodyTooLarge, UnsupportedEncoding

if TYPE_CHECKING:
    from .._session_api.types import ApiRequest
    from .._telemetry import Telemetry

__all__ = ["MAX_CONNECTIONS", "MAX_RESPONSE_BYTES", "RestClient"]

logger = logging.getLogger("session_client.retries")

#: The default ``max_response_bytes`` (decompressed): a page of sessions is the largest body.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024


class _Response(NamedTuple):
    status: int
    body: bytes
    header: Callable[[str], str | None]


class RestClient:
    """The REST API at ``base_url`` over one backend's connection pool."""

    def __init__(self, base_url: str, options: HttpOptions, telemetry: Telemetry) -> None:
        self._base_url, self._options, self._telemetry = base_url, options, telemetry
        self._backend: Backend | None = None  # opened on the first call (its import costs)
        self._headers = {"Accept-Encoding": ACCEPT_ENCODING}
        if options.api_key is not None:
            self._headers["Authorization"] = f"Bearer {options.api_key}"
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
            backend = self._backend = open_backend(self._options)
            python = ".".join(platform.python_version_tuple()[:2])
            agent = f"session_client_lib/{__version__} (python {python}; {backend.version})"
            self._headers["User-Agent"] = agent
        method, path, own_headers, content = request
        headers = {**self._headers, **own_headers, **(options.extra_headers or {})}
        timeouts = options.timeouts or self._timeouts
        max_retries = (
            self._options.max_retries if options.max_retries is None else options.max_retries
        )
        operation, url = f"{method} {path.partition('?')[0]}", self._base_url + path
        repeatable = _retries.is_repeatable(method, own_headers)
        await self._take_slot(timeouts)
        held, attempt = True, 0
        try:
            while True:
                instruments, response = self._telemetry.on(), None
                try:
                    if instruments is None:
                        response = await self._exchange(operation, url, headers, content, timeouts)
                    else:  # the attempt in a span, which adds its traceparent to the headers
                        response = await instruments.attempt(
                            lambda traced: self._exchange(
                                operation, url, traced, content, timeouts
                            ),
                            *(method, url, attempt, dict(headers)),
                        )
                except TransportError as exc:
                    failure = exc
                sent = failure.sent if response is None else True
                status = None if response is None else response.status
                if not _retries.should_retry(
                    attempt, max_retries, repeatable, status=status, sent=sent
                ):
                    break
                retry_after = None if response is None else response.header("retry-after")
                delay = _retries.backoff(attempt, retry_after)
                logger.info(
                    "retrying %s in %.2f s (attempt %d of %d)",
                    *(operation, delay, attempt + 1, max_retries),
                )
                # The slot serves other calls meanwhile: a server answering 503 with
                # Retry-After to twenty calls must not stall every other call.
                self._slots.release()
                held = False
                await asyncio.sleep(delay)
                await self._take_slot(timeouts)
                held, attempt = True, attempt + 1
        finally:
            if held:
                self._slots.release()
        if response is None:
            where = redact_url(self._base_url)
            if failure.timeout:
                message = f"the API at {where} did not answer in time: {failure}"
                raise APITimeoutError(message) from failure
            raise APIConnectionError(f"cannot reach the API at {where}: {failure}") from failure
        return self._result(response, operation, parse)

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

    async def _exchange(
        self,
        operation: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeouts: Timeouts,
    ) -> _Response:
        """One attempt: send, and read the whole body within the deadline and the size cap."""
        assert self._backend is not None
        bound = asyncio.timeout(timeouts.deadline)
        try:
            async with bound:
                reply = await self._backend.send(operation.split()[0], url, headers, content)
                try:
                    reader = BodyReader(
                        reply.header("content-encoding"),
                        reply.header("content-length"),
                        self._max_bytes,
                    )
                    async for chunk in reply.chunks():
                        reader.feed(chunk)
                    body = reader.finish()
                finally:
                    await reply.aclose()
        except TimeoutError:
            if not bound.expired():
                raise
            deadline = f"{timeouts.deadline:g} s"
            message = f"no complete response within {deadline} (connect, headers and body)"
            raise TransportError(message, sent=True, timeout=True) from None
        except BodyTooLarge:
            raise APIResponseTooLargeError(operation, self._max_bytes) from None
        except (UnsupportedEncoding, zlib.error) as exc:
            raise APIResponseValidationError(f"{operation}: {exc}") from None
        return _Response(reply.status, body, reply.header)

    def _result(self, response: _Response, operation: str, parse: Callable[[int, Any], Any]) -> Any:
        status = response.status
        if status >= 400:
            raise api_error(status, response.body, response.header("x-request-id"), operation)
        try:
            data = json.loads(response.body)
            parsed = parse(status, data)
        except (ValueError, KeyError, TypeError) as exc:
            message = f"{operation}: malformed API response: {exc!r}"
            raise APIResponseValidationError(message) from exc
        if parsed is None:
            raise APIResponseValidationError(f"{operation}: undocumented status {status}")
        date = response.header("date")
        if date is not None:
            self.date = (date, time.time())
        return data

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._backend is not None:
            await self._backend.aclose()

    def abandon(self) -> None:
        """Let the connection pool go without I/O: its event loop is closed."""
        if self._backend is not None:
            self._backend.abandon()
