"""A small hostile HTTP server on loopback: it answers every request the same bad way (slow
headers, a dripping body, a huge body, a gzip bomb), from its own thread, so blocking and async
clients alike can be pointed at it. Bodies are made at run time, never stored."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

__all__ = [
    "HostileServer",
    "drip_body",
    "gzip_bomb",
    "huge_body",
    "json_body",
    "session_record",
    "slow_headers",
]

Reply = Callable[[asyncio.StreamWriter], Awaitable[None]]
_CHUNK = 64 * 1024


def _head(*headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close", *headers, "", ""]
    return "\r\n".join(lines).encode()


def session_record(padding: int = 0) -> dict[str, Any]:
    """A valid ``Session`` body, its ``message_data`` padded with ``padding`` characters."""
    return {
        "session_id": "s1",
        "status": "ACTIVE",
        "message_data": {"pad": "x" * padding},
        "message_data_template": {},
        "expiry_date": None,
        "subject_id": None,
        "created_at": "2026-11-25T10:00:00Z",
        "updated_at": "2026-11-25T10:00:00Z",
    }


def json_body(record: dict[str, Any], *, gzip: bool = False) -> Reply:
    """A well-formed JSON answer, gzip-compressed if asked."""
    body = json.dumps(record).encode()
    headers = ["Content-Type: application/json"]
    if gzip:
        body = _gzip(iter([body]))
        headers.append("Content-Encoding: gzip")

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(_head(*headers, f"Content-Length: {len(body)}") + body)
        await writer.drain()

    return reply


def drip_body(size: int, interval: float) -> Reply:
    """Headers at once, then a ``size``-byte body one byte every ``interval`` seconds."""

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(_head("Content-Type: application/json", f"Content-Length: {size}"))
        for _ in range(size):
            await writer.drain()
            await asyncio.sleep(interval)
            writer.write(b" ")

    return reply


def slow_headers(interval: float) -> Reply:
    """The status line and headers one byte every ``interval`` seconds (never a body)."""
    head = _head("Content-Type: application/json")

    async def reply(writer: asyncio.StreamWriter) -> None:
        for i in range(len(head)):
            writer.write(head[i : i + 1])
            await writer.drain()
            await asyncio.sleep(interval)

    return reply


def huge_body(size: int, *, chunked: bool) -> Reply:
    """``size`` bytes of body, with a ``Content-Length`` or chunked (no size said up front)."""
    block = b"x" * _CHUNK

    async def reply(writer: asyncio.StreamWriter) -> None:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        writer.write(_head("Content-Type: application/json", framing))
        left = size
        while left:
            data = block[: min(left, _CHUNK)]
            left -= len(data)
            writer.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")

    return reply


def _gzip(chunks: Iterator[bytes]) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return b"".join([*(packer.compress(chunk) for chunk in chunks), packer.flush()])


def gzip_bomb(size: int, *, stacked: bool = False) -> tuple[Reply, int]:
    """A gzip body that inflates to ``size`` zero bytes (twice gzipped if ``stacked``), and
    its compressed length. Compressed a block at a time: the inflated body never exists."""
    block = bytes(_CHUNK)
    body = _gzip(block[: min(_CHUNK, size - i)] for i in range(0, size, _CHUNK))
    encoding = "gzip"
    if stacked:
        body, encoding = _gzip(iter([body])), "gzip, gzip"

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(
            _head(
                "Content-Type: application/json",
                f"Content-Encoding: {encoding}",
                f"Content-Length: {len(body)}",
            )
        )
        writer.write(body)
        await writer.drain()

    return reply, len(body)


class HostileServer:
    """``with HostileServer(reply) as server:`` serves ``reply`` to every request on
    ``server.url`` from a thread of its own; ``server.requests`` counts the requests, and
    ``server.request_lines`` keeps their first lines (``GET /path HTTP/1.1``)."""

    def __init__(self, reply: Reply) -> None:
        self._reply = reply
        self.requests = 0
        self.request_lines: list[str] = []
        #: Each request's header lines, as ``(name in lower case, value)``.
        self.request_headers: list[list[tuple[str, str]]] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    def __enter__(self) -> HostileServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self._server = future.result(timeout=10)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    await reader.readexactly(int(value))
            self.requests += 1
            first, *lines = head.decode("latin-1").split("\r\n")
            self.request_lines.append(first)
            fields = [line.partition(":") for line in lines if line]
            self.request_headers.append([(n.strip().lower(), v.strip()) for n, _, v in fields])
            await self._reply(writer)
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client gave up (what it is expected to do), or the server stops
        finally:
            self._tasks.discard(task)
            writer.transport.abort()  # at once when stopped; a no-op once closed

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(TimeoutError):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
