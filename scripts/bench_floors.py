"""The floors of ``make bench``: the library's round trip written by hand, one per HTTP
library the library can use, and one with none. Each keeps one confirmed subscription per
session subject across round trips, as the library does:

- :class:`AiohttpFloor` (``floor-aiohttp``): aiohttp and nats-py;
- :class:`HttpxFloor` (``floor-httpx``): httpx and nats-py;
- :class:`Httpx2Floor` (``floor-httpx2``): the same code on httpx2, which keeps httpx's API;
- :class:`BareFloor` (``floor-bare``): no HTTP or NATS library, asyncio Protocols speaking
  HTTP/1.1 and the NATS protocol directly: the limit of this machine.

Each answer is matched to its message by ``message_id``; an answer that beats the HTTP
response is kept until its message id is known. Every floor's pool holds the library's
``MAX_CONNECTIONS``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from session_client._rest import MAX_CONNECTIONS

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


class KeptSubscriptionFloor:
    """A floor that subscribes once per session subject and keeps the subscription.

    Subclasses open and close their HTTP pool and NATS connection, send a message
    (:meth:`post`, returning the message record) and subscribe (:meth:`subscribe`, returning
    once the server confirmed it); answers go to :meth:`deliver`, which hands each to the
    waiter of its ``message_id``.
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
        await self.open_http()
        await self.open_nats()

    async def open_http(self) -> None:
        """Open the HTTP pool (``bench_paired.py --without rest-layer`` uses it alone)."""
        raise NotImplementedError

    async def open_nats(self) -> None:
        """Connect to NATS."""
        raise NotImplementedError

    async def subscribe(self, subject: str) -> None:
        """Subscribe to ``subject`` and return once the server confirmed it."""
        raise NotImplementedError

    async def post(self, session: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """Send the message ``body`` with Idempotency-Key ``key``; the message record."""
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
        key, body = uuid.uuid4().hex, message_body(subject)
        try:
            record = await self.post(session, body, key)
        except self.retried:
            # Once more, like the library (same key): a keep-alive connection the server just
            # closed is otherwise fatal here.
            record = await self.post(session, body, key)
        message_id: str = record["message_id"]
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
        await self.close_nats()
        await self.close_http()

    async def close_http(self) -> None:
        """Close the HTTP pool."""
        raise NotImplementedError

    async def close_nats(self) -> None:
        """Unsubscribe everything and close the NATS connection."""
        raise NotImplementedError


class NatsPyFloor(KeptSubscriptionFloor):
    """The NATS half with nats-py; subclasses bring the HTTP library."""

    nc: Any = None

    async def open_nats(self) -> None:
        import nats

        self.nc = await nats.connect(self.nats_url)

    async def subscribe(self, subject: str) -> None:
        """Subscribe with nats-py, then confirm it."""

        async def on_message(msg: Any) -> None:
            self.deliver(msg.data)

        await self.nc.subscribe(subject, cb=on_message)
        await confirm_subscriptions(self.nc)

    async def close_nats(self) -> None:
        await self.nc.close()


class AiohttpFloor(NatsPyFloor):
    """aiohttp (a connector of the library's pool size) and nats-py."""

    http: Any = None

    async def open_http(self) -> None:
        import aiohttp

        self.http = aiohttp.ClientSession(
            base_url=self.api_url.rstrip("/") + "/",
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
            timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT),
        )
        # Its connection errors include a keep-alive connection the server closed.
        self.retried = (aiohttp.ClientConnectionError,)

    async def post(self, session: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST the message through the connector's pool."""
        async with self.http.post(
            f"sessions/{session}/messages", json=body, headers={"Idempotency-Key": key}
        ) as response:
            response.raise_for_status()
            record: dict[str, Any] = await response.json()
            return record

    async def close_http(self) -> None:
        await self.http.close()


class HttpxFloor(NatsPyFloor):
    """httpx (an ``AsyncClient`` of the library's pool size, all kept alive) and nats-py.

    Like the library it bounds the requests in flight to the pool size with a semaphore:
    without that, httpcore's pool queue costs quadratic CPU and 10,000 callers take many
    minutes.
    """

    #: The HTTP library, by name: httpx2 keeps httpx's API (:class:`Httpx2Floor`).
    module = "httpx"
    http: Any = None
    slots: asyncio.Semaphore

    async def open_http(self) -> None:
        httpx = importlib.import_module(self.module)
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)
        # Its transport errors include a keep-alive connection the server closed.
        self.retried = (httpx.TransportError,)
        limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
        )
        self.http = httpx.AsyncClient(base_url=self.api_url, timeout=HTTP_TIMEOUT, limits=limits)

    async def post(self, session: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST the message, at most the pool size at once."""
        async with self.slots:
            response = await self.http.post(
                f"/sessions/{session}/messages", json=body, headers={"Idempotency-Key": key}
            )
        response.raise_for_status()
        record: dict[str, Any] = response.json()
        return record

    async def close_http(self) -> None:
        await self.http.aclose()


class Httpx2Floor(HttpxFloor):
    """:class:`HttpxFloor` on httpx2."""

    module = "httpx2"


class BareFloor(KeptSubscriptionFloor):
    """asyncio Protocols only: :class:`HttpConnection` in a pool, :class:`NatsConnection`."""

    nats: NatsConnection
    idle: list[HttpConnection]
    slots: asyncio.Semaphore
    api: SplitResult

    async def open_http(self) -> None:
        """HTTP connections open on demand, at most the library's pool size."""
        self.idle, self.slots = [], asyncio.Semaphore(MAX_CONNECTIONS)
        self.api = urlsplit(self.api_url)

    async def open_nats(self) -> None:
        url = urlsplit(self.nats_url)
        loop = asyncio.get_running_loop()
        _, self.nats = await loop.create_connection(
            NatsConnection, url.hostname or "127.0.0.1", url.port or 4222
        )
        await self.nats.ready

    async def subscribe(self, subject: str) -> None:
        """SUB, then PING: the PONG confirms it (both are written in order)."""
        await self.nats.subscribe(subject, self.deliver)

    async def post(self, session: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST on an idle pooled connection, or a new one while the pool has room."""
        api = self.api
        content = json.dumps(body).encode()
        head = (
            f"POST {api.path.rstrip('/')}/sessions/{session}/messages HTTP/1.1\r\n"
            f"Host: {api.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(content)}\r\nIdempotency-Key: {key}\r\n\r\n"
        )
        async with self.slots:
            if self.idle:
                connection = self.idle.pop()
            else:
                _, connection = await asyncio.get_running_loop().create_connection(
                    HttpConnection, api.hostname or "127.0.0.1", api.port or 80
                )
            status, response = await connection.request(head.encode() + content)
            if connection.reusable:
                self.idle.append(connection)
        if status // 100 != 2:
            raise RuntimeError(f"HTTP {status}: {response[:200]!r}")
        record: dict[str, Any] = json.loads(response)
        return record

    async def close_nats(self) -> None:
        self.nats.close()

    async def close_http(self) -> None:
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


FLOORS: dict[str, type[KeptSubscriptionFloor]] = {
    "floor-bare": BareFloor,
    "floor-aiohttp": AiohttpFloor,
    "floor-httpx": HttpxFloor,
    "floor-httpx2": Httpx2Floor,
}


async def jetstream_pull_floor(
    nats_url: str, subject: str, group: str, batch: int, io_seconds: float, idle: float
) -> tuple[int, float, float, float, float]:
    """The consumer-group floor: a hand-written nats-py JetStream pull consumer of the durable
    ``group`` on ``subject`` - fetch ``batch``, parse each answer, (wait ``io_seconds``), ack
    - until nothing came for ``idle`` s. Returns what ``bench_consumers`` measures: handled,
    CPU and wall time at the first and at the last item."""
    import time

    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_ack_pending=10_000)
    pull = await js.pull_subscribe(subject, durable=group, config=config)
    handled, first, last = 0, (0.0, 0.0), (0.0, 0.0)
    while True:
        try:
            messages = await pull.fetch(batch, timeout=idle)
        except (nats.errors.TimeoutError, TimeoutError):  # nats-py raises either
            break
        for msg in messages:
            answer = json.loads(msg.data)
            if handled == 0:
                first = (time.process_time(), time.time())
            if io_seconds:
                await asyncio.sleep(io_seconds)
            assert answer["message_id"]
            await msg.ack()
            handled += 1
            last = (time.process_time(), time.time())
    await nc.close()
    return handled, *first, *last
