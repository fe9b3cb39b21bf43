"""The floors of ``make bench``: the library's round trip written by hand, three ways.

- :class:`Floor` (``floor``): httpx and nats-py, subscribing, confirming and unsubscribing per
  round trip, as the library did before it kept subscriptions;
- :class:`AiohttpFloor` (``floor-aiohttp``): aiohttp and nats-py, one confirmed subscription
  per session subject kept across round trips;
- :class:`BareFloor` (``floor-bare``): no HTTP or NATS library, asyncio Protocols speaking
  HTTP/1.1 and the NATS protocol directly, same subscriptions: the limit of this machine.

Each answer is matched to its message by ``message_id``; an answer that beats the HTTP
response is kept until its message id is known.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

HTTP_TIMEOUT = 300.0  # generous: at 10,000 callers requests queue behind the server
WAIT_TIMEOUT = 120.0
CHANNEL = "bench"


def answer_subject(session: str, subject: str) -> str:
    """The session's own answer subject (asyncapi.yaml); bench ids have no dots to escape."""
    return f"sessions.responses.{subject}.{session}"


async def confirm_subscriptions(nc: Any) -> None:
    """Return once the NATS server has nats-py client ``nc``'s new subscriptions. Like the
    library, have the pending SUBs written first: ``flush()`` alone may PING before they are
    (nats.py issue #440), and an instant answer is then occasionally lost. One loop turn lets
    nats-py's flusher task, woken by the SUB, write them (public API only: 0 of 2,000 instant
    answers lost, where a lone flush lost 2-12%)."""
    await asyncio.sleep(0)
    await nc.flush()


def message_body(subject: str) -> dict[str, Any]:
    """The JSON body of every floor's ``POST /sessions/{session}/messages``."""
    return {"channel_id": CHANNEL, "message": "ping", "subject_id": subject}


class Floor:
    """The same round trip written directly against httpx and nats-py.

    Configured like the library's HTTP client - its pool size, all kept alive - and, like
    it, bounding the requests in flight to the pool size with a semaphore: without that,
    httpcore's pool queue costs quadratic CPU and 10,000 callers take many minutes. Also like
    it, it has nats-py's pending SUB written before the flush that confirms it: without that an
    instant answer is occasionally lost (see BENCHMARKS.md).
    """

    def __init__(self, api_url: str, nats_url: str) -> None:
        self.api_url = api_url
        self.nats_url = nats_url
        self.http: Any = None
        self.nc: Any = None
        self.slots: asyncio.Semaphore | None = None
        self.transport_error: type[Exception] = Exception

    async def connect(self) -> None:
        """Open the HTTP client and the NATS connection."""
        import httpx
        import nats

        from session_client.limits import MAX_CONNECTIONS  # the library's pool size

        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.transport_error = httpx.TransportError
        limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
        )
        self.http = httpx.AsyncClient(base_url=self.api_url, timeout=HTTP_TIMEOUT, limits=limits)
        self.nc = await nats.connect(self.nats_url)

    async def send_and_wait(
        self, session: str, subject: str, on_sent: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        """Subscribe, flush, send, wait for the answer with the sent ``message_id``."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[dict[str, Any]] = loop.create_future()
        early: dict[str, dict[str, Any]] = {}
        wanted: list[str] = []

        async def on_message(msg: Any) -> None:
            payload = json.loads(msg.data)
            message_id = payload.get("message_id")
            if wanted and message_id == wanted[0]:
                if not answer.done():
                    answer.set_result(payload)
            else:
                early[message_id] = payload  # the answer may beat the HTTP response

        subscription = await self.nc.subscribe(answer_subject(session, subject), cb=on_message)
        try:
            await confirm_subscriptions(self.nc)
            assert self.slots is not None, "connect() first"
            async with self.slots:
                request = {
                    "json": message_body(subject),
                    "headers": {"Idempotency-Key": uuid.uuid4().hex},
                }
                try:
                    response = await self.http.post(f"/sessions/{session}/messages", **request)
                except self.transport_error:
                    # Once more, like the library (same key): on a busy shared machine a
                    # keep-alive connection the server just closed is otherwise fatal here.
                    response = await self.http.post(f"/sessions/{session}/messages", **request)
            response.raise_for_status()
            message_id = response.json()["message_id"]
            if on_sent is not None:
                on_sent(message_id)
            if message_id in early:
                return early[message_id]
            wanted.append(message_id)
            return await asyncio.wait_for(answer, WAIT_TIMEOUT)
        finally:
            await subscription.unsubscribe()

    async def aclose(self) -> None:
        """Close both connections."""
        await self.nc.close()
        await self.http.aclose()


class KeptSubscriptionFloor:
    """A floor that subscribes once per session subject and keeps the subscription.

    Subclasses send the message (:meth:`post`, returning its ``message_id``) and subscribe
    (:meth:`subscribe`, returning once the server confirmed it); answers go to
    :meth:`deliver`, which hands each to the waiter of its ``message_id``.
    """

    def __init__(self, api_url: str, nats_url: str) -> None:
        self.api_url = api_url
        self.nats_url = nats_url
        self.subscriptions: dict[str, asyncio.Task[None]] = {}
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.early: dict[str, dict[str, Any]] = {}
        #: NATS messages delivered to :meth:`deliver`.
        self.delivered = 0

    # What a retry once follows: the HTTP library's transport errors.
    retried: tuple[type[Exception], ...] = (OSError,)

    async def connect(self) -> None:
        """Open the HTTP pool and the NATS connection."""
        raise NotImplementedError

    async def subscribe(self, subject: str) -> None:
        """Subscribe to ``subject`` and return once the server confirmed it."""
        raise NotImplementedError

    async def post(self, session: str, subject: str, key: str) -> str:
        """Send the message with Idempotency-Key ``key``; its ``message_id``."""
        raise NotImplementedError

    def deliver(self, data: bytes) -> None:
        """An answer arrived: to its waiter, or kept until its message id is known."""
        self.delivered += 1
        payload = json.loads(data)
        message_id = payload.get("message_id")
        future = self.waiting.pop(message_id, None)
        if future is None:
            self.early[message_id] = payload  # the answer may beat the HTTP response
        elif not future.done():
            future.set_result(payload)

    async def send_and_wait(
        self, session: str, subject: str, on_sent: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        """Subscribe once per session subject, send, wait for the answer with its
        ``message_id``."""
        name = answer_subject(session, subject)
        confirmed = self.subscriptions.get(name)
        if confirmed is None:  # concurrent first callers share one subscription
            confirmed = self.subscriptions[name] = asyncio.create_task(self.subscribe(name))
        await confirmed
        key = uuid.uuid4().hex
        try:
            message_id = await self.post(session, subject, key)
        except self.retried:
            # Once more, like the library (same key): a keep-alive connection the server just
            # closed is otherwise fatal here.
            message_id = await self.post(session, subject, key)
        if on_sent is not None:
            on_sent(message_id)
        if message_id in self.early:
            return self.early.pop(message_id)
        future = self.waiting[message_id] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(future, WAIT_TIMEOUT)
        finally:
            self.waiting.pop(message_id, None)

    async def aclose(self) -> None:
        """Close both connections."""
        raise NotImplementedError


class AiohttpFloor(KeptSubscriptionFloor):
    """aiohttp (a connector of the library's pool size) and nats-py."""

    http: Any = None
    nc: Any = None

    async def connect(self) -> None:
        """Open the HTTP session and the NATS connection."""
        import aiohttp
        import nats

        from session_client.limits import MAX_CONNECTIONS  # the library's pool size

        self.http = aiohttp.ClientSession(
            base_url=self.api_url.rstrip("/") + "/",
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
            timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT),
        )
        # Its connection errors include a keep-alive connection the server closed.
        self.retried = (aiohttp.ClientConnectionError,)
        self.nc = await nats.connect(self.nats_url)

    async def subscribe(self, subject: str) -> None:
        """Subscribe with nats-py, then confirm it."""

        async def on_message(msg: Any) -> None:
            self.deliver(msg.data)

        await self.nc.subscribe(subject, cb=on_message)
        await confirm_subscriptions(self.nc)

    async def post(self, session: str, subject: str, key: str) -> str:
        """POST the message through the connector's pool."""
        async with self.http.post(
            f"sessions/{session}/messages",
            json=message_body(subject),
            headers={"Idempotency-Key": key},
        ) as response:
            response.raise_for_status()
            message_id: str = (await response.json())["message_id"]
            return message_id

    async def aclose(self) -> None:
        """Close both connections."""
        await self.nc.close()
        await self.http.close()


class BareFloor(KeptSubscriptionFloor):
    """asyncio Protocols only: :class:`HttpConnection` in a pool, :class:`NatsConnection`."""

    nats: NatsConnection
    idle: list[HttpConnection]
    slots: asyncio.Semaphore
    api: SplitResult

    async def connect(self) -> None:
        """Connect to NATS; HTTP connections open on demand, at most the library's pool size."""
        from session_client.limits import MAX_CONNECTIONS

        url = urlsplit(self.nats_url)
        loop = asyncio.get_running_loop()
        _, self.nats = await loop.create_connection(
            NatsConnection, url.hostname or "127.0.0.1", url.port or 4222
        )
        await self.nats.ready
        self.idle, self.slots = [], asyncio.Semaphore(MAX_CONNECTIONS)
        self.api = urlsplit(self.api_url)

    async def subscribe(self, subject: str) -> None:
        """SUB, then PING: the PONG confirms it (both are written in order)."""
        await self.nats.subscribe(subject, self.deliver)

    async def post(self, session: str, subject: str, key: str) -> str:
        """POST on an idle pooled connection, or a new one while the pool has room."""
        api = self.api
        body = json.dumps(message_body(subject)).encode()
        head = (
            f"POST {api.path.rstrip('/')}/sessions/{session}/messages HTTP/1.1\r\n"
            f"Host: {api.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nIdempotency-Key: {key}\r\n\r\n"
        )
        async with self.slots:
            if self.idle:
                connection = self.idle.pop()
            else:
                _, connection = await asyncio.get_running_loop().create_connection(
                    HttpConnection, api.hostname or "127.0.0.1", api.port or 80
                )
            status, response = await connection.request(head.encode() + body)
            if connection.reusable:
                self.idle.append(connection)
        if status // 100 != 2:
            raise RuntimeError(f"HTTP {status}: {response[:200]!r}")
        message_id: str = json.loads(response)["message_id"]
        return message_id

    async def aclose(self) -> None:
        """Unsubscribe, close the NATS connection and the pool."""
        self.nats.close()
        for connection in self.idle:
            connection.transport.close()


class HttpConnection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection, one request at a time; the reference server
    (uvicorn) answers with a Content-Length, never chunked."""

    transport: asyncio.Transport

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.response: asyncio.Future[tuple[int, bytes]] | None = None
        self.reusable = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def request(self, data: bytes) -> Awaitable[tuple[int, bytes]]:
        """Write one request; the future of its status and body."""
        if self.transport.is_closing():
            raise ConnectionResetError("the server closed the keep-alive connection")
        self.response = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return asyncio.wait_for(self.response, HTTP_TIMEOUT)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        lines = self.buffer[:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        length = int(headers["content-length"])
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        self.reusable = headers.get("connection", "").lower() != "close"
        if self.response is not None and not self.response.done():
            self.response.set_result((int(lines[0].split(" ", 2)[1]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self.response is not None and not self.response.done():
            self.response.set_exception(ConnectionResetError("connection lost mid-response"))


class NatsConnection(asyncio.Protocol):
    """The NATS client protocol, as much as the floor needs: CONNECT, SUB/UNSUB, PING/PONG,
    MSG and HMSG (headers skipped), frames split over reads included."""

    transport: asyncio.Transport

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pongs: deque[asyncio.Future[None]] = deque()
        self.handlers: dict[int, Callable[[bytes], None]] = {}
        # A MSG/HMSG line read, its payload not yet: (sid, header bytes, total bytes).
        self.pending: tuple[int, int, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    async def subscribe(self, subject: str, handler: Callable[[bytes], None]) -> None:
        """SUB ``subject``; return once the server answered the PING written after it."""
        sid = len(self.handlers) + 1
        self.handlers[sid] = handler
        await self.ping(f"SUB {subject} {sid}\r\n".encode())

    def ping(self, before: bytes = b"") -> asyncio.Future[None]:
        """Write ``before`` and a PING; the future of its PONG."""
        pong = asyncio.get_running_loop().create_future()
        self.pongs.append(pong)
        self.transport.write(before + b"PING\r\n")
        return pong

    def close(self) -> None:
        """Unsubscribe everything and close."""
        self.transport.write(b"".join(f"UNSUB {sid}\r\n".encode() for sid in self.handlers))
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        start = 0
        while True:
            if self.pending is not None:
                sid, headers, total = self.pending
                if len(self.buffer) - start < total + 2:
                    break
                payload = bytes(self.buffer[start + headers : start + total])
                start += total + 2
                self.pending = None
                self.handlers[sid](payload)
                continue
            end = self.buffer.find(b"\r\n", start)
            if end < 0:
                break
            line = self.buffer[start:end]
            start = end + 2
            self.control(bytes(line))
        del self.buffer[:start]

    def control(self, line: bytes) -> None:
        """One protocol line from the server."""
        op, _, args = line.partition(b" ")
        if op == b"MSG":  # MSG <subject> <sid> [reply-to] <#bytes>
            parts = args.split()
            self.pending = (int(parts[1]), 0, int(parts[-1]))
        elif op == b"HMSG":  # HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
            parts = args.split()
            self.pending = (int(parts[1]), int(parts[-2]), int(parts[-1]))
        elif op == b"PING":
            self.transport.write(b"PONG\r\n")
        elif op == b"PONG":
            pong = self.pongs.popleft()
            if not pong.done():
                pong.set_result(None)
        elif op == b"INFO" and not self.ready.done():
            options = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True}
            self.ping(f"CONNECT {json.dumps(options)}\r\n".encode()).add_done_callback(
                self.connected
            )
        elif op == b"-ERR":
            raise RuntimeError(f"NATS: {line.decode()}")

    def connected(self, pong: asyncio.Future[None]) -> None:
        """The server answered the PING after CONNECT: the connection is ready."""
        if not self.ready.done() and not pong.exception():
            self.ready.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        for pong in self.pongs:
            if not pong.done():
                pong.set_exception(ConnectionResetError("NATS connection lost"))
        if not self.ready.done():
            self.ready.set_exception(ConnectionResetError("NATS connection lost"))


FLOORS: dict[str, type[Floor] | type[KeptSubscriptionFloor]] = {
    "floor": Floor,
    "floor-aiohttp": AiohttpFloor,
    "floor-bare": BareFloor,
}
