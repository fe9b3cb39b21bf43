"""The one seam to nats-py (``session_client._wait._nats``), against a real nats-server: the SUB
reaches the server before the PING that confirms it, every message of a subscription is handed
on as nats-py reads it, a caller cancelled while subscribing leaves nothing behind, what the
seam relies on is checked at connect, and a subject is replayed from its stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest

from session_client import NatsUnavailableError
from session_client._wait import _nats
from session_client._wait._nats import NatsLink
from session_client.testing import LocalStack, NatsServer

from ..ports import free_port


class Inbox:
    """Collects what the seam hands on, by subject."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.headers: list[dict[str, str] | None] = []
        self.arrived = asyncio.Event()

    def __call__(self, subject: str, data: bytes, headers: dict[str, str] | None) -> None:
        self.messages.append((subject, data))
        self.headers.append(headers)
        self.arrived.set()

    async def wait_for(self, count: int) -> list[bytes]:
        async with asyncio.timeout(5):
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return [data for _, data in self.messages]


def make_link(url: str, **options: object) -> tuple[NatsLink, list[str]]:
    events: list[str] = []
    link = NatsLink(
        [url],
        dict(options),
        on_disconnected=lambda: events.append("disconnected"),
        on_reconnected=lambda: events.append("reconnected"),
        on_closed=lambda: events.append("closed"),
    )
    return link, events


@pytest.fixture
async def link(stack: LocalStack) -> AsyncIterator[NatsLink]:
    made, _ = make_link(stack.nats_url)
    yield made
    await made.close()


async def test_sub_is_written_before_the_ping_that_confirms_it(link: NatsLink) -> None:
    await link.unsubscribe(await link.subscribe("sessions.responses.warm", Inbox()))
    nc = link.connection
    assert nc is not None
    transport = nc._transport
    written: list[bytes] = []
    write, writelines = transport.write, transport.writelines

    def record(data: bytes) -> None:
        written.append(bytes(data))
        write(data)

    def record_lines(lines: list[bytes]) -> None:
        written.extend(bytes(line) for line in lines)
        writelines(lines)

    transport.write, transport.writelines = record, record_lines
    subscription = await link.subscribe("sessions.responses.order", Inbox())
    wire = b"".join(written)
    # nats-py writes flush()'s PING straight to the socket: without pushing the pending SUB
    # out first, the PONG can confirm a subscription the server has not seen yet (#440).
    assert wire.index(b"SUB sessions.responses.order ") < wire.index(b"PING")
    await link.unsubscribe(subscription)


async def test_every_message_is_handed_on_without_a_task_or_queue_even_after_a_reconnect(
    stack: LocalStack,
) -> None:
    # The seam passes nats-py a stand-in for subscribe(future=...): nats-py must hand it every
    # message, not only the first, also after a reconnect replayed the subscription.
    link, events = make_link(stack.nats_url, reconnect_time_wait=0.05)
    publisher = await nats.connect(stack.nats_url)
    subject, inbox = "sessions.responses.many", Inbox()
    try:
        await link.connect()  # nats-py's own tasks
        tasks_before = len(asyncio.all_tasks())
        subscription = await link.subscribe(subject, inbox)
        assert subscription._wait_for_msgs_task is None
        assert len(asyncio.all_tasks()) == tasks_before
        for n in range(4):
            await publisher.publish(subject, str(n).encode())
        assert await inbox.wait_for(4) == [b"0", b"1", b"2", b"3"]
        nc = link.connection
        assert nc is not None
        nc._transport.close()  # a broken connection: nats-py reconnects, replaying the SUB
        async with asyncio.timeout(5):
            while "reconnected" not in events:  # noqa: ASYNC110 - a plain callback records it
                await asyncio.sleep(0.01)
        await nc.flush(timeout=5)  # the server has the replayed subscription
        await publisher.publish(subject, b"4")
        assert (await inbox.wait_for(5))[-1] == b"4"
        assert events == ["disconnected", "reconnected"]
        await link.unsubscribe(subscription)
        assert not _nats.open_subscriptions(nc)
    finally:
        await publisher.close()
        await link.close()


async def test_a_cancelled_subscribe_leaves_nothing_and_the_connection_keeps_delivering(
    link: NatsLink, stack: LocalStack
) -> None:
    publisher = await nats.connect(stack.nats_url)
    try:
        await link.unsubscribe(await link.subscribe("sessions.responses.warm", Inbox()))
        nc = link.connection
        assert nc is not None
        # Cancel after 0, 1, 2, ... loop turns: at some point inside nats-py's subscribe, its
        # pending-buffer flush and the PING/PONG. nats-py swallows a cancellation in the flush,
        # and a cancelled PONG future kills its read loop when the PONG comes.
        for turns in range(40):
            task = asyncio.ensure_future(link.subscribe(f"sessions.responses.c{turns}", Inbox()))
            for _ in range(turns):
                await asyncio.sleep(0)
            if task.done():
                await link.unsubscribe(task.result())
                continue
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        # A PONG of our own comes after every PONG of the cancelled subscribes (the server
        # answers PINGs in order), so any that would kill the read loop has come: not a sleep.
        await nc.flush(timeout=5)
        assert not _nats.open_subscriptions(nc)
        inbox = Inbox()
        subscription = await link.subscribe("sessions.responses.after", inbox)
        await publisher.publish("sessions.responses.after", b"still delivering")
        assert await inbox.wait_for(1) == [b"still delivering"]
        await link.unsubscribe(subscription)
    finally:
        await publisher.close()


async def test_callers_cancelled_while_nats_py_subscribes_leave_no_subscription(
    stack: LocalStack,
) -> None:
    # A one-slot flush queue makes nats-py's subscribe() wait (and swallow a cancellation)
    # as it does under a burst of more than 1,024 new subjects.
    link, _ = make_link(stack.nats_url, flusher_queue_size=1)
    try:
        await link.unsubscribe(await link.subscribe("sessions.responses.warm", Inbox()))
        nc = link.connection
        assert nc is not None
        tasks = [
            asyncio.ensure_future(link.subscribe(f"sessions.responses.burst{n}", Inbox()))
            for n in range(300)
        ]
        await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:  # the few that finished before the cancel
            if not isinstance(result, BaseException):
                await link.unsubscribe(result)
        assert any(isinstance(result, asyncio.CancelledError) for result in results)
        await asyncio.sleep(0.2)
        assert not _nats.open_subscriptions(nc)
    finally:
        await link.close()


async def test_a_nats_py_without_what_the_seam_relies_on_fails_at_connect_naming_it(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_nats, "_CLIENT_INTERNALS", (*_nats._CLIENT_INTERNALS, "_gone"))
    link, _ = make_link(stack.nats_url)
    with pytest.raises(NatsUnavailableError, match=r"nats-py \d+\.\d+.* lacks _gone"):
        await link.connect()
    assert link.connection is None


async def test_a_subject_is_replayed_from_its_stream_from_a_time_on(link: NatsLink) -> None:
    nc = await link.connect()
    js = nc.jetstream()
    subject = f"sessions.responses.replay{time.time_ns()}"
    await js.publish(subject, b"before")
    await asyncio.sleep(0.05)
    since = time.time()
    trace = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    for n in range(300):  # more than one fetch
        await js.publish(subject, str(n).encode(), headers=trace)
    inbox = Inbox()
    assert await link.replay(subject, since, inbox) is True
    assert [data for _, data in inbox.messages] == [str(n).encode() for n in range(300)]
    # Handed on with their headers: the trace context of a replayed answer is kept.
    assert all(trace.items() <= (headers or {}).items() for headers in inbox.headers)
    assert {s for s, _ in inbox.messages} == {subject}
    stream = await js.find_stream_name_by_subject(subject)
    assert (await js.stream_info(stream)).state.consumer_count == 0  # nothing left behind


async def test_a_subject_no_stream_covers_is_not_replayed(stack: LocalStack) -> None:
    link, _ = make_link(stack.nats_url)
    try:
        inbox = Inbox()
        assert await link.replay("not.covered.subject", time.time() - 60, inbox) is False
        assert inbox.messages == []
    finally:
        await link.close()


# nats-py's websocket transport passes aiohttp a deprecated argument: not ours to fix.
@pytest.mark.filterwarnings("ignore:parameter 'timeout':DeprecationWarning")
async def test_a_websocket_connection_confirms_and_delivers(tmp_path: Path) -> None:
    # nats-py's websocket transport sends nothing until drained: the seam's PING, written
    # outside nats-py's flusher, must still go out, or every wait fails after 10 s.
    pytest.importorskip("aiohttp")
    ws_port = free_port()
    config = tmp_path / "websocket.conf"
    config.write_text(f"websocket {{\n  host: 127.0.0.1\n  port: {ws_port}\n  no_tls: true\n}}\n")
    with NatsServer(jetstream=False, extra_args=["-c", str(config)]) as server:
        link, _ = make_link(f"ws://127.0.0.1:{ws_port}")
        publisher = await nats.connect(server.url)
        try:
            for n in range(3):  # each its own subscription and confirmation
                subject, inbox = f"sessions.responses.ws{n}", Inbox()
                subscription = await asyncio.wait_for(link.subscribe(subject, inbox), 5)
                await publisher.publish(subject, json.dumps({"n": n}).encode())
                assert await inbox.wait_for(1) == [json.dumps({"n": n}).encode()]
                await link.unsubscribe(subscription)
        finally:
            await publisher.close()
            await link.close()


async def test_when_every_server_refuses_the_first_connect_fails_at_once() -> None:
    link, _ = make_link(f"nats://127.0.0.1:{free_port()}")
    link2, _ = make_link(f"nats://127.0.0.1:{free_port()}")
    link2._servers.append(f"nats://127.0.0.1:{free_port()}")  # two servers, both refusing
    for refused in (link, link2):
        started = time.monotonic()
        with pytest.raises(NatsUnavailableError, match="refused"):
            await refused.connect()
        # Before, a bound of 3 s (5 s with two servers) outlasted a wait of timeout=2, which
        # then reported a ResponseTimeoutError ("resume later") for a NATS that is not there.
        assert time.monotonic() - started < 1.5
        await refused.close()


async def test_callers_waiting_for_a_first_connect_that_fails_fail_with_it() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_greet(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    silent = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    link, _ = make_link(
        f"nats://127.0.0.1:{silent.sockets[0].getsockname()[1]}",
        connect_timeout=0.3,
        reconnect_time_wait=0.1,
    )
    try:
        async with asyncio.timeout(15):
            failed = await asyncio.gather(
                *(link.connect() for _ in range(3)), return_exceptions=True
            )
        assert all(isinstance(error, NatsUnavailableError) for error in failed), failed
        # One first connect for the three callers: before, each tried again in turn.
        assert len(accepted) == _nats.FIRST_CONNECT_ATTEMPTS
    finally:
        await link.close()
        silent.close()
        for writer in accepted:
            writer.close()


class SlowFirstAccepts:
    """A TCP proxy to ``port`` that holds its first ``slow`` connections without a word for
    ``hold`` seconds and then drops them, as a server too busy to answer would."""

    def __init__(self, port: int, slow: int, hold: float) -> None:
        self.port, self.slow, self.hold = port, slow, hold
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"nats://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.accepted <= self.slow:
            await asyncio.sleep(self.hold)
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_slow_server_is_given_more_than_one_attempt_not_a_fixed_time(
    stack: LocalStack,
) -> None:
    nats_port = int(stack.nats_url.rsplit(":", 1)[1])
    proxy = SlowFirstAccepts(nats_port, slow=_nats.FIRST_CONNECT_ATTEMPTS - 1, hold=2.5)
    url = await proxy.start()
    link, _ = make_link(url, connect_timeout=2, reconnect_time_wait=0.2)
    try:
        # Two attempts time out (2 s each); the third gets through, 4.5 s in: before issue
        # 17, the first connect gave up after 3 s. (A server that never greets fails at the
        # third: tests/integration/test_misconfigured_nats.py.)
        async with asyncio.timeout(15):
            nc = await link.connect()
        assert nc.is_connected and proxy.accepted >= 3
    finally:
        await link.close()
        await proxy.close()
