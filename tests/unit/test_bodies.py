"""Response bodies within a limit, decompressed as they come (session_client._rest._bodies), and
the attempt bound derived from ``http_timeout`` (session_client.config)."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from typing import Any

import httpx
import pytest

from session_client import APIResponseValidationError, AsyncSessionClient, NotFoundError
from session_client._rest._bodies import BodyReader, BodyTooLarge, UnsupportedEncoding
from session_client.config import resolve_http_timeout

TEXT = b'{"session_id": "s1", "padding": "' + b"abc" * 5000 + b'"}'


def read(encoding: str | None, body: bytes, limit: int, piece: int = 1000) -> bytes:
    reader = BodyReader(encoding, None, limit)
    for i in range(0, len(body), piece):
        reader.feed(body[i : i + piece])
    return reader.finish()


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        (None, TEXT),
        ("identity", TEXT),
        ("gzip", gzip.compress(TEXT)),
        ("GZip, identity", gzip.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", raw_deflate(TEXT)),  # what some servers send as deflate
    ],
)
def test_bodies_come_out_decoded_up_to_exactly_the_limit(encoding: str | None, body: bytes) -> None:
    assert read(encoding, body, len(TEXT)) == TEXT
    with pytest.raises(BodyTooLarge):
        read(encoding, body, len(TEXT) - 1)


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, gzip", "deflate, gzip"])
def test_encodings_not_asked_for_or_stacked_are_refused(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding):
        BodyReader(encoding, None, 100)


def test_a_corrupt_gzip_body_is_a_zlib_error() -> None:
    with pytest.raises(zlib.error):
        read("gzip", b"\x1f\x8b" + b"not gzip at all" * 10, 10_000)


def test_a_gzip_bomb_never_inflates_past_the_limit() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    bomb = b"".join(packer.compress(block) for _ in range(200)) + packer.flush()  # 200 MiB
    limit = 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            read("gzip", bomb, limit, piece=len(bomb))  # the whole bomb in one chunk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * limit  # the limit and one byte, not a chunk's worth of 200 MiB


@pytest.mark.parametrize(
    ("timeout", "deadline"),
    [
        (httpx.Timeout(2.0), 2.0),
        (httpx.Timeout(2.0, connect=0.5), 2.0),
        (httpx.Timeout(2.0, connect=7.0), 7.0),
        (httpx.Timeout(2.0, pool=9.0), 2.0),  # waiting for a connection is not the attempt
        (httpx.Timeout(None), None),
        (httpx.Timeout(2.0, read=None), None),
    ],
)
def test_an_attempt_may_take_the_longest_phase_timeout(
    timeout: httpx.Timeout, deadline: float | None
) -> None:
    assert resolve_http_timeout(timeout, None).deadline == deadline


@pytest.mark.parametrize(
    ("timeout", "bounds"),
    [
        (2.0, (None, None)),  # seconds: the deadline alone bounds everything
        (httpx.Timeout(2.0, read=0.3), (None, 0.3)),
        (httpx.Timeout(2.0, connect=0.5), (0.5, None)),
        (httpx.Timeout(2.0, connect=7.0), (None, 2.0)),  # the deadline is 7: a read of 2 fires
        (httpx.Timeout(2.0, read=None), (2.0, None)),  # no deadline: every bound stays
    ],
)
def test_a_backend_gets_only_the_phase_bounds_that_can_fire_before_the_deadline(
    timeout: Any, bounds: tuple[float | None, float | None]
) -> None:
    assert resolve_http_timeout(timeout, None).phase_bounds() == bounds


def answering(response: httpx.Response) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: response)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"content-encoding": "gzip"}, b"\x1f\x8b broken"),
        ({"content-encoding": "br"}, b"anything"),
        ([("content-encoding", "gzip"), ("content-encoding", "gzip")], gzip.compress(b"{}")),
    ],
)
async def test_undecodable_bodies_are_validation_errors(
    headers: dict[str, str] | list[tuple[str, str]], body: bytes
) -> None:
    # stream=: an httpx.Response made with content= would decode (unbounded) on construction.
    transport = answering(httpx.Response(200, headers=headers, stream=httpx.ByteStream(body)))
    async with AsyncSessionClient("http://api.test", http_transport=transport) as client:
        with pytest.raises(APIResponseValidationError, match="GET /sessions/s1"):
            await client.get_session("s1")


async def test_the_client_asks_only_for_encodings_it_bounds() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept-encoding"])
        return httpx.Response(404)

    async with AsyncSessionClient(
        "http://api.test", http_transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(NotFoundError):
            await client.get_session("s1")
    assert seen == ["gzip, deflate"]


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(BodyTooLarge):
        BodyReader(None, "101", 100)
    BodyReader(None, "100", 100)  # exactly the limit: read


def test_a_compressed_body_cut_short_is_refused() -> None:
    whole = gzip.compress(b'{"session_id": "s1"}' * 50)
    reader = BodyReader("gzip", None, 1 << 20)
    reader.feed(whole[: len(whole) // 2])
    with pytest.raises(zlib.error):
        reader.finish()
