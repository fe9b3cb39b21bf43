"""Hostile HTTP servers on loopback (issue 17, items 4 and 5): ``timeout`` bounds a whole
attempt - connect, headers and body - and response bodies are capped, decompressed included.
Both clients, against real sockets."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from session_client import (
    APIConnectionError,
    APIResponseTooLargeError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncSessionClient,
    SessionClient,
)
from session_client._rest import MAX_RESPONSE_BYTES
from tests.hostile_http import (
    HostileServer,
    Reply,
    drip_body,
    gzip_bomb,
    huge_body,
    json_body,
    session_record,
    slow_headers,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("http_backend")]

#: Scheduling slack on a busy 2-core machine; the old code took 10 s here (102 s in the issue).
MARGIN = 1.5


def get_session(kind: str, url: str, **options: Any) -> tuple[Any, float]:
    """``get_session`` with the ``kind`` client; what it returned or raised, and how long."""

    async def with_async() -> Any:
        async with AsyncSessionClient(url, **options) as client:
            return await client.get_session("s1")

    def with_sync() -> Any:
        with SessionClient(url, **options) as client:
            return client.get_session("s1")

    started = time.monotonic()
    try:
        outcome = asyncio.run(with_async()) if kind == "async" else with_sync()
    except Exception as exc:
        outcome = exc
    return outcome, time.monotonic() - started


clients = pytest.mark.parametrize("kind", ["sync", "async"])

# Each would take 10 s or more to finish, a byte at a time, under httpx's per-read timeouts.
SLOW = {"dripping body": drip_body(40, 0.25), "slow headers": slow_headers(0.15)}


@clients
@pytest.mark.parametrize("reply", SLOW.values(), ids=SLOW.keys())
def test_timeout_bounds_the_whole_attempt(kind: str, reply: Reply) -> None:
    with HostileServer(reply) as server:
        outcome, took = get_session(kind, server.url, http_timeout=1, max_retries=0)
        assert isinstance(outcome, APITimeoutError), outcome
        assert took < 1 + MARGIN
        assert server.requests == 1


def test_each_retry_of_a_dripping_body_is_bounded_too() -> None:
    with HostileServer(drip_body(40, 0.25)) as server:
        outcome, took = get_session("async", server.url, http_timeout=1, max_retries=1)
        assert isinstance(outcome, APITimeoutError), outcome
        assert server.requests == 2
        assert took < 2 * 1 + 0.5 + MARGIN  # two attempts and one back-off (0.5 s at most)


@pytest.mark.parametrize("timeout", [1.0, httpx.Timeout(1.0, connect=0.5)])
def test_the_bound_holds_with_a_users_own_transport(timeout: float | httpx.Timeout) -> None:
    with HostileServer(drip_body(40, 0.25)) as server:
        outcome, took = get_session(
            "async",
            server.url,
            http_timeout=timeout,
            max_retries=0,
            http_backend="httpx",
            http_transport=httpx.AsyncHTTPTransport(),
        )
        assert isinstance(outcome, APITimeoutError), outcome
        assert took < 1 + MARGIN


@clients
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_default_limit_is_refused_and_not_retried(kind: str, chunked: bool) -> None:
    with HostileServer(huge_body(MAX_RESPONSE_BYTES + 1, chunked=chunked)) as server:
        outcome, _ = get_session(kind, server.url)
        assert isinstance(outcome, APIResponseTooLargeError), outcome
        assert outcome.limit == MAX_RESPONSE_BYTES
        assert outcome.operation == "GET /sessions/s1"
        assert server.requests == 1


@clients
def test_a_gzip_bomb_is_refused(kind: str) -> None:
    bomb, compressed = gzip_bomb(4 * MAX_RESPONSE_BYTES)
    assert compressed < MAX_RESPONSE_BYTES // 100  # small on the wire: only inflating hurts
    with HostileServer(bomb) as server:
        outcome, _ = get_session(kind, server.url)
        assert isinstance(outcome, APIResponseTooLargeError), outcome
        assert server.requests == 1


def test_stacked_content_encodings_are_refused() -> None:
    bomb, _ = gzip_bomb(1024, stacked=True)
    with HostileServer(bomb) as server:
        outcome, _ = get_session("async", server.url)
        assert isinstance(outcome, APIResponseValidationError), outcome
        assert "stacked" in str(outcome)


def exact_record(size: int) -> dict[str, Any]:
    """A session record whose JSON is exactly ``size`` bytes."""
    padding = size - len(json.dumps(session_record()).encode())
    record = session_record(padding)
    assert len(json.dumps(record).encode()) == size
    return record


@clients
@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_a_body_of_exactly_the_limit_passes_one_byte_more_does_not(kind: str, gzip: bool) -> None:
    limit = 256 * 1024
    record = exact_record(limit)
    with HostileServer(json_body(record, gzip=gzip)) as server:
        returned, _ = get_session(kind, server.url, max_response_bytes=limit)
        assert returned == record
        refused, _ = get_session(kind, server.url, max_response_bytes=limit - 1)
        assert isinstance(refused, APIResponseTooLargeError), refused
        assert refused.limit == limit - 1


def test_the_default_limit_is_exactly_max_response_bytes() -> None:
    with HostileServer(json_body(exact_record(MAX_RESPONSE_BYTES), gzip=True)) as server:
        returned, _ = get_session("async", server.url)
        assert returned == exact_record(MAX_RESPONSE_BYTES)
    with HostileServer(json_body(exact_record(MAX_RESPONSE_BYTES + 1), gzip=True)) as server:
        refused, _ = get_session("async", server.url)
        assert isinstance(refused, APIResponseTooLargeError), refused


def test_a_header_over_16_kib_is_taken_by_every_backend() -> None:
    # It was an APIConnectionError on aiohttp (8 KiB a field) and accepted by httpx.
    body = json.dumps(session_record()).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"X-Large: {'v' * 20_000}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(head.encode() + body)
        await writer.drain()

    with HostileServer(reply) as server:
        returned, _ = get_session("async", server.url)
    assert returned == session_record()


def test_bytes_past_the_content_length_are_a_typed_outcome(http_backend: str) -> None:
    # httpx takes the Content-Length body and drops the rest; aiohttp refuses the response
    # ("Data after Connection: close") and has no public way to do otherwise: both typed,
    # and documented (README, "The HTTP backend").
    body = json.dumps(session_record()).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(head.encode() + body + b"trailing garbage")
        await writer.drain()

    with HostileServer(reply) as server:
        returned, _ = get_session("async", server.url, max_retries=0)
    if http_backend == "aiohttp":
        assert type(returned) is APIConnectionError, returned
    else:
        assert returned == session_record()
