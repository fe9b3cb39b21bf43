"""When to retry a REST call, and how long to wait first: pure decisions, no I/O.

A request that may already have been processed (a timeout, a dropped response, an error status)
is retried only if repeating it is harmless: a safe method, or a POST carrying an
``Idempotency-Key``, so a retry never sends a message twice. A failure to connect means nothing
was sent, so it is retried for every method.
"""

from __future__ import annotations

import email.utils
import random
import time

__all__ = ["RETRYABLE_STATUSES", "backoff", "is_repeatable", "retry_after_seconds", "should_retry"]

RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_INITIAL_DELAY = 0.5
_MAX_DELAY = 8.0
#: A longer ``Retry-After`` than this is not waited for: exponential backoff instead.
_MAX_RETRY_AFTER = 60.0


def is_repeatable(method: str, headers: dict[str, str]) -> bool:
    """Whether sending the request (its ``headers`` named in lower case) twice is harmless."""
    return method in _IDEMPOTENT_METHODS or "idempotency-key" in headers


def should_retry(
    attempt: int, retries: int, repeatable: bool, status: int | None, sent: bool
) -> bool:
    """After attempt number ``attempt`` (0 first, of at most ``retries`` + 1) ended with
    ``status``, or with no response (``status`` None; ``sent``: it may have reached the server)."""
    if attempt >= retries:
        return False
    if status is None:
        return repeatable or not sent
    return repeatable and status in RETRYABLE_STATUSES


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds (it holds seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            return None


def backoff(attempt: int, retry_after: str | None) -> float:
    """Seconds to wait before retrying attempt number ``attempt``: what ``Retry-After`` asks
    if reasonable, else exponential, with jitter to spread clients that failed together."""
    asked = retry_after_seconds(retry_after, time.time())
    if asked is not None and asked <= _MAX_RETRY_AFTER:
        return asked
    delay = min(_MAX_DELAY, _INITIAL_DELAY * 2.0**attempt)
    return delay * (1 - 0.25 * random.random())
