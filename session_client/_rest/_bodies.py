"""Collecting a response body within a size limit, decompressed as it arrives.

The limit applies to the body as the caller gets it (after decompression) and to the bytes on
the wire, so a small gzip body that inflates to gigabytes stops at the limit: zlib is asked for
at most one byte more than the room left, never for a whole chunk's worth of output.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable

__all__ = ["ACCEPT_ENCODING", "BodyReader", "BodyTooLarge", "UnsupportedEncoding", "read_body"]

#: The ``Accept-Encoding`` the client sends: exactly what :class:`BodyReader` decodes. Not
#: httpx's default, which adds ``br``/``zstd`` when those packages happen to be installed and
#: would then inflate them without a bound.
ACCEPT_ENCODING = "gzip, deflate"

# wbits for zlib.decompressobj: a gzip member; a zlib stream (``deflate`` as RFC 9110 says).
_GZIP, _ZLIB = zlib.MAX_WBITS | 16, zlib.MAX_WBITS
_IDENTITY = frozenset({"", "identity"})
_PIECE = 256 * 1024  # decompressed bytes asked of zlib per call


class BodyTooLarge(Exception):
    """The body exceeds the limit (raw or decompressed)."""


class UnsupportedEncoding(Exception):
    """A ``Content-Encoding`` the client did not ask for, or more than one stacked."""


def _coding(content_encoding: str | None) -> str:
    """The one coding named by a ``Content-Encoding`` value, ``""`` for none."""
    if not content_encoding:
        return ""
    named = (c.strip().lower() for c in content_encoding.split(","))
    codings = [c for c in named if c not in _IDENTITY]
    if len(codings) > 1:  # gzip over gzip: each layer multiplies, nothing legitimate needs it
        raise UnsupportedEncoding(f"stacked content encodings {content_encoding!r}")
    if codings and codings[0] not in ("gzip", "deflate"):
        raise UnsupportedEncoding(f"content encoding {codings[0]!r} was not asked for")
    return codings[0] if codings else ""


class BodyReader:
    """``feed()`` the raw chunks, then ``finish()`` for the decoded body.

    Raises :class:`BodyTooLarge` as soon as more than ``limit`` bytes came or would come out,
    :class:`UnsupportedEncoding` at construction, and ``zlib.error`` for a corrupt body.
    """

    __slots__ = ("_chunks", "_inflater", "_raw_deflate", "_room", "_wire_room")

    def __init__(self, encoding: str | None, length: str | None, limit: int) -> None:
        if length is not None and length.isdigit() and int(length) > limit:
            raise BodyTooLarge  # said so up front: not worth reading
        coding = _coding(encoding)
        self._chunks: list[bytes] = []
        self._room = self._wire_room = limit  # decoded, raw bytes still allowed
        wbits = _ZLIB if coding == "deflate" else _GZIP
        self._inflater = zlib.decompressobj(wbits) if coding else None
        # Some servers send raw deflate for ``deflate``: told apart by the first chunk.
        self._raw_deflate = coding == "deflate"

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk."""
        self._wire_room -= len(chunk)
        if self._wire_room < 0:
            raise BodyTooLarge
        if self._inflater is None:
            self._take(chunk)
            return
        # A piece at a time: zlib copies a call's output once more to join it, so asking for
        # all the room at once would cost twice the limit.
        while True:
            most = min(self._room + 1, _PIECE)  # room + 1: one byte over is enough to know
            out = self._inflate(chunk, most)
            self._take(out)
            if len(out) < most:  # the input is used up and nothing more is pending
                return
            chunk = self._inflater.unconsumed_tail

    def _inflate(self, chunk: bytes, most: int) -> bytes:
        assert self._inflater is not None
        try:
            out = self._inflater.decompress(chunk, most)
        except zlib.error:
            if not self._raw_deflate:
                raise
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._inflater.decompress(chunk, most)
        self._raw_deflate = self._raw_deflate and not chunk
        return out

    def _take(self, data: bytes) -> None:
        self._room -= len(data)
        if self._room < 0:
            raise BodyTooLarge
        if data:
            self._chunks.append(data)

    def finish(self) -> bytes:
        """The whole decoded body."""
        if self._inflater is not None:
            self._take(self._inflater.flush())
            if not self._inflater.eof:  # cut short: what came is not the whole body
                raise zlib.error("the compressed body ends before its end")
        return b"".join(self._chunks)  # one chunk: that very object, not a copy


async def read_body(
    read: Callable[[], Awaitable[bytes]], header: Callable[[str], str | None], limit: int
) -> bytes:
    """The whole body, from ``read()``'s raw chunks as they arrive (``b""`` at its end: a loop,
    not an async iterator, whose end raises), decoded as the response's ``header`` says,
    within ``limit`` (see :class:`BodyReader`)."""
    reader = BodyReader(header("content-encoding"), header("content-length"), limit)
    while chunk := await read():
        reader.feed(chunk)
    return reader.finish()
