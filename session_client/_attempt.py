"""One HTTP attempt, bounded: a deadline over connect, headers and the whole body, and a cap on
the body's size (decompressed included).

httpx's own timeouts are per phase and per read, so a server dripping one byte every half
second keeps a ``timeout=2`` request alive for as long as it likes; and it buffers whatever
body comes. Reading the body here, inside the attempt, puts both under one bound.

The one private name of httpx the library uses is here: the body read is handed to the
response as its ``_content``, what ``Response.read()`` sets. Read again through ``read()``, a
body already in memory goes through httpx's decoder and chunker chain, which costs more than
the rest of the attempt's own work (``make bench``).
"""

from __future__ import annotations

import asyncio
import zlib

from . import _http
from ._bodies import BodyReader, BodyTooLarge, UnsupportedEncoding
from .errors import APIResponseTooLargeError, APIResponseValidationError

__all__ = ["attempt_deadline", "bounded_attempt"]


def attempt_deadline(timeout: _http.Timeout) -> float | None:
    """Seconds one attempt may take: the longest of the connect, write and read timeouts (all
    the same for a plain number), or ``None`` when one of them is unbounded."""
    phases = (timeout.connect, timeout.write, timeout.read)
    if None in phases:
        return None
    return max(phase for phase in phases if phase is not None)


def _operation(request: _http.Request) -> str:
    return f"{request.method} {request.url.path}"


async def bounded_attempt(
    transport: _http.AsyncBaseTransport,
    request: _http.Request,
    deadline: float | None,
    max_bytes: int,
) -> _http.Response:
    """Send ``request`` through ``transport`` and read the whole response within ``deadline``
    seconds; the response comes back with its body in memory, already decoded.

    Raises ``httpx.ReadTimeout`` past the deadline (retried like any timeout),
    :class:`APIResponseTooLargeError` for a body over ``max_bytes`` (not retried) and
    :class:`APIResponseValidationError` for an encoding the client did not ask for or a
    corrupt compressed body.
    """
    bound = asyncio.timeout(deadline)
    try:
        async with bound:
            response = await transport.handle_async_request(request)
            stream = response.stream
            assert isinstance(stream, _http.AsyncByteStream)
            try:
                body = await _read(response.headers, stream, max_bytes)
            finally:
                await stream.aclose()  # back to the pool (or closed, if not read to the end)
    except TimeoutError as exc:
        if not bound.expired():
            raise
        raise _http.ReadTimeout(
            f"no complete response within {deadline:g} s (connect, headers and body)",
            request=request,
        ) from exc
    except BodyTooLarge:
        raise APIResponseTooLargeError(_operation(request), max_bytes) from None
    except (UnsupportedEncoding, zlib.error) as exc:
        raise APIResponseValidationError(f"{_operation(request)}: {exc}") from None
    response.stream = _http.ByteStream(body)
    response._content = body  # read: see the module's docstring
    return response


def _framing(headers: _http.Headers) -> tuple[bytes | None, str | None]:
    """``Content-Length`` and ``Content-Encoding`` (all its lines), in one pass: httpx's
    ``Headers.get`` costs microseconds a call, on every request."""
    length: bytes | None = None
    encoding: bytes | None = None
    for key, value in headers.raw:
        key = key.lower()
        if key == b"content-length":
            length = value
        elif key == b"content-encoding":
            encoding = value if encoding is None else encoding + b"," + value
    return length, None if encoding is None else encoding.decode("latin-1")


async def _read(headers: _http.Headers, stream: _http.AsyncByteStream, max_bytes: int) -> bytes:
    length, encoding = _framing(headers)
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise BodyTooLarge  # said so up front: not worth reading
    reader = BodyReader(encoding, max_bytes)
    async for chunk in stream:
        reader.feed(chunk)
    body = reader.finish()
    if encoding is not None:  # decoded here: httpx must not decode it again
        del headers["content-encoding"]
        headers["content-length"] = str(len(body))
    return body
