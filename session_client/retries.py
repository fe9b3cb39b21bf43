"""HTTP retries with exponential backoff, jitter and ``Retry-After``, as an httpx transport."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from . import _http
from ._attempt import bounded_attempt
from .limits import MAX_RESPONSE_BYTES

__all__ = ["RETRYABLE_STATUSES", "RetryingTransport"]

logger = logging.getLogger("session_client.retries")

RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _retry_after(response: _http.Response) -> float | None:
    """Seconds the server asked us to wait (``Retry-After``: seconds or an HTTP date)."""
    value: str | None = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed is not None else None


class RetryingTransport(_http.AsyncBaseTransport):
    """Retries connect errors, timeouts and 408/429/502/503/504 up to ``max_retries`` times.

    A request that may already have been processed (timeouts, dropped responses, error
    statuses) is retried only if repeating it is harmless: safe methods, or a POST carrying an
    ``Idempotency-Key``, so a retry never sends a message twice. A connect error means nothing
    was sent, so it is retried for every method. ``while_backing_off()`` is entered around
    each back-off wait (the client gives its request slot up meanwhile).

    Each attempt reads the whole response, within ``attempt_timeout`` seconds and
    ``max_response_bytes`` (see :func:`bounded_attempt`): a timeout is retried as above, a
    body too large is not.
    """

    def __init__(
        self,
        inner: _http.AsyncBaseTransport,
        *,
        max_retries: int = 2,
        attempt_timeout: float | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        initial_delay: float = 0.5,
        max_delay: float = 8.0,
        max_retry_after: float = 60.0,
        while_backing_off: Callable[[], contextlib.AbstractAsyncContextManager[Any]] = (
            contextlib.nullcontext
        ),
    ) -> None:
        self._inner = inner
        self._while_backing_off = while_backing_off
        self.max_retries = max_retries
        self.attempt_timeout = attempt_timeout
        self.max_response_bytes = max_response_bytes
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after

    def _backoff(self, attempt: int, response: _http.Response | None) -> float:
        if response is not None:
            asked = _retry_after(response)
            if asked is not None and asked <= self.max_retry_after:
                return asked
        delay = min(self.max_delay, self.initial_delay * 2.0**attempt)
        return delay * (1 - 0.25 * random.random())  # jitter spreads synchronized clients

    async def handle_async_request(self, request: _http.Request) -> _http.Response:
        repeatable = (
            request.method in _SAFE_METHODS
            or _http.header_value(request.headers, b"idempotency-key") is not None
        )
        attempt = 0
        while True:
            retries_left = attempt < self.max_retries
            response: _http.Response | None = None
            try:
                response = await bounded_attempt(
                    self._inner, request, self.attempt_timeout, self.max_response_bytes
                )
            except (_http.ConnectError, _http.ConnectTimeout):
                if not retries_left:
                    raise
            except (_http.TimeoutException, _http.NetworkError, _http.RemoteProtocolError):
                if not (retries_left and repeatable):
                    raise
            if response is not None:
                if not (retries_left and repeatable and response.status_code in RETRYABLE_STATUSES):
                    return response
                await response.aclose()
            delay = self._backoff(attempt, response)
            logger.info(
                "retrying %s %s in %.2f s (attempt %d of %d)",
                request.method,
                request.url.path,
                delay,
                attempt + 1,
                self.max_retries,
            )
            async with self._while_backing_off():
                await asyncio.sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()
