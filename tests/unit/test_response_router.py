"""The response router's routing rules, driven through a stand-in NATS connection."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from session_client import responses
from session_client.errors import NatsUnavailableError, SessionExpiredError, SessionRejectedError
from session_client.responses import ResponseRouter, Waiter


class FakeMsg:
    def __init__(self, subject: str, data: bytes) -> None:
        self.subject, self.data = subject, data


class FakeSubscription:
    def __init__(self, connection: FakeConnection, subject: str) -> None:
        self.connection, self.subject = connection, subject

    async def unsubscribe(self) -> None:
        del self.connection.callbacks[self.subject]


class FakeTransport:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection

    def writelines(self, lines: list[bytes]) -> None:
        self.connection.written.extend(lines)

    def write(self, data: bytes) -> None:
        connection = self.connection
        if connection.write_error is not None:
            raise connection.write_error
        connection.written.append(data)
        if data == b"PING\r\n":
            connection.pings += 1
            if not connection.silent:
                pong = asyncio.ensure_future(connection.pong())
                connection.pongs_in_flight.add(pong)
                pong.add_done_callback(connection.pongs_in_flight.discard)


class FakeConnection:
    """Just enough of nats-py's client: subscribe, its pending buffer, PING/PONG, and a way to
    publish to the objects nats-py delivers a subscription's messages to."""

    is_closed = False

    def __init__(self) -> None:
        self.callbacks: dict[str, Any] = {}
        self.is_connected = True
        self._pending: list[bytes] = []
        self._pending_data_size = 0
        self._pongs: list[asyncio.Future[bool]] = []
        self._flush_queue: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue(maxsize=1024)
        self._transport = FakeTransport(self)
        self.written: list[bytes] = []
        self.pongs_in_flight: set[asyncio.Future[None]] = set()
        self.write_error: BaseException | None = None
        self.pong_gate: asyncio.Event | None = None  # set: PONGs come back once it opens
        self.pings = 0
        self.silent = False  # True: PINGs go out, PONGs never come back

    async def subscribe(self, subject: str, future: Any) -> FakeSubscription:
        self.callbacks[subject] = future
        sub = f"SUB {subject} 1\r\n".encode()
        self._pending.append(sub)
        self._pending_data_size += len(sub)
        return FakeSubscription(self, subject)

    async def pong(self) -> None:
        """The server's PONG, as nats-py's read loop handles it."""
        if self.pong_gate is not None:
            await self.pong_gate.wait()
        if self._pongs:
            self._pongs.pop(0).set_result(True)

    async def deliver(self, subject: str, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sink = self.callbacks[subject]
        if not sink.cancelled():  # what nats-py's _process_msg does with a subscription's future
            sink.set_result(FakeMsg(subject, data))


@pytest.fixture
def connection() -> FakeConnection:
    return FakeConnection()


@pytest.fixture
def router(connection: FakeConnection) -> ResponseRouter:
    routed = ResponseRouter(["nats://fake:4222"], {})
    routed._nc = connection  # type: ignore[assignment]
    return routed


async def unconfirmed_registration(
    router: ResponseRouter, connection: FakeConnection, after: float = 0.01
) -> asyncio.Task[Waiter]:
    """A registration whose PING went out ``after`` seconds ago and got no PONG."""
    connection.silent = True
    registering = asyncio.create_task(router.register("subj", "s", None))
    await asyncio.sleep(after)
    return registering


def answer(session_id: str, message_id: str | None, **response: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"session_id": session_id, "response": response}
    if message_id is not None:
        payload["message_id"] = message_id
    return payload


async def test_answers_reach_only_their_own_waiter(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    first = await router.register("subj", "s1", "m1")
    second = await router.register("subj", "s1", "m2")
    other = await router.register("subj", "s2", "m3")
    assert router.subscription_count == 1
    for junk in (b"not json", b"[1, 2]", b'"text"', answer("s9", "m1"), {"no": "session"}):
        await connection.deliver("subj", junk)
    await connection.deliver("subj", answer("s1", "m2", n=2))
    await connection.deliver("subj", answer("s1", "m1", n=1))
    await connection.deliver("subj", answer("s1", "m1", n=99))  # duplicate: dropped
    assert first.future.result()["response"] == {"n": 1}
    assert second.future.result()["response"] == {"n": 2}
    assert not other.future.done()
    for waiter in (first, second, other):
        await router.release(waiter)
    assert router.subscription_count == 0 and connection.callbacks == {}


async def test_an_answer_before_the_message_id_is_known_is_kept(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    waiter = await router.register("subj", "s1", None, awaiting_id=True)
    await connection.deliver("subj", answer("s1", "m-other", n=0))
    await connection.deliver("subj", answer("s1", "m-mine", n=1))
    assert not waiter.future.done()
    assert router.expect(waiter, "m-mine") is True
    assert waiter.future.result()["response"] == {"n": 1}
    await router.release(waiter)


async def test_without_a_message_id_the_session_match_decides(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    waiter = await router.register("subj", "s1", "m1")
    await connection.deliver("subj", answer("s1", None, n=1))
    assert waiter.future.result()["response"] == {"n": 1}
    await router.release(waiter)


@pytest.mark.parametrize(
    ("status", "error"), [("FAILED", SessionRejectedError), ("EXPIRED", SessionExpiredError)]
)
async def test_status_events_wake_every_waiter_of_the_session(
    router: ResponseRouter, connection: FakeConnection, status: str, error: type[Exception]
) -> None:
    waiters = [
        await router.register("subj", "s1", "m1"),
        await router.register("subj", "s1", None),
        await router.register("subj", "s1", None, awaiting_id=True),
    ]
    bystander = await router.register("subj", "s2", "m2")
    await connection.deliver(
        "subj", {"event": "session.status", "session_id": "s1", "status": status}
    )
    for waiter in waiters:
        with pytest.raises(error):
            waiter.future.result()
    assert not bystander.future.done()


async def test_a_failed_subscription_is_forgotten_and_fails_its_joiners(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    connection.write_error = OSError("connection lost")
    creating = asyncio.create_task(router.register("subj", "s1", "m1"))
    await asyncio.sleep(0)
    joining = asyncio.create_task(router.register("subj", "s2", "m2"))
    for task in (creating, joining):
        with pytest.raises(NatsUnavailableError):
            await asyncio.wait_for(task, 1)  # at once, not at the confirmation's deadline
    assert router.subscription_count == 0
    connection.write_error = None
    waiter = await router.register("subj", "s1", "m1")
    assert router.subscription_count == 1
    await router.release(waiter)


async def test_close_fails_pending_waiters(router: ResponseRouter) -> None:
    waiter = await router.register("subj", "s1", "m1")
    router._nc = None  # nothing real to close
    await router.close()
    with pytest.raises(NatsUnavailableError):
        waiter.future.result()
    assert router.subscription_count == 0


async def test_hostile_payloads_of_the_right_session_settle_nothing(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    waiter = await router.register("subj", "s1", "m1")
    for junk in (b"[" * 100_000, {"session_id": "s1", "message_id": 7}, answer("s1", "m2")):
        await connection.deliver("subj", junk)
    assert not waiter.future.done()
    await router.release(waiter)


async def test_huge_early_answers_overflow_into_a_rest_check(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    waiter = await router.register("subj", "s1", None, awaiting_id=True)
    pad = "x" * (1024 * 1024)
    for n in range(5):  # 5 MiB of answers for other messages, past the 4 MiB buffer
        await connection.deliver("subj", answer("s1", f"m-other-{n}", pad=pad))
    assert router.expect(waiter, "m-mine") is False  # its answer may have been dropped
    await router.release(waiter)


async def test_a_cancelled_creator_does_not_fail_its_joiners(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    connection.pong_gate = asyncio.Event()
    creating = asyncio.create_task(router.register("subj", "s1", "m1"))
    await asyncio.sleep(0)
    joining = asyncio.create_task(router.register("subj", "s2", "m2"))
    await asyncio.sleep(0)
    creating.cancel()
    with pytest.raises(asyncio.CancelledError):
        await creating
    connection.pong_gate.set()
    waiter = await joining  # subscribed afresh instead of failing
    assert router.subscription_count == 1 and list(connection.callbacks) == ["subj"]
    await connection.deliver("subj", answer("s2", "m2", ok=True))
    assert waiter.future.result()["response"] == {"ok": True}
    await router.release(waiter)
    assert router.subscription_count == 0


async def test_a_burst_of_subscriptions_shares_one_ping(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    await router.release(await router.register("warm", "s", None))
    pings = connection.pings
    waiters = await asyncio.gather(*(router.register(f"subj{n}", "s", None) for n in range(50)))
    assert connection.pings == pings + 1
    for waiter in waiters:
        await router.release(waiter)


async def test_closing_ends_a_confirmation_in_flight(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    registering = await unconfirmed_registration(router, connection)
    await router.close()
    with pytest.raises(NatsUnavailableError, match="closed"):
        await asyncio.wait_for(registering, 1)
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == 1  # nothing left behind
    assert router._confirmations == set()


async def test_a_pong_lost_to_a_reconnect_is_asked_for_again(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    # nats-py forgets the PONG futures of the old connection when it reconnects: without a new
    # PING the burst would fail after the 10 s confirmation timeout.
    registering = await unconfirmed_registration(router, connection)
    assert connection.pings == 1 and not registering.done()
    connection.silent = False
    connection._pongs = []  # what nats-py does when it reconnects
    await router._on_reconnected()
    waiter = await asyncio.wait_for(registering, 1)
    assert connection.pings == 2
    await router.release(waiter)


async def test_a_subscription_made_while_disconnected_is_confirmed_after_the_reconnect(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    connection.is_connected = False  # reconnecting: nats-py replays the SUBs once connected
    registering = asyncio.create_task(router.register("subj", "s", None))
    await asyncio.sleep(0.01)
    assert connection.pings == 0 and not registering.done()
    connection.is_connected = True
    await router._on_reconnected()
    await router.release(await asyncio.wait_for(registering, 1))
    assert connection.pings == 1


async def test_the_ping_follows_the_subscriptions_it_confirms(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    # Written by the router in one go, after nats-py's buffered SUBs (see _write_ping).
    waiters = await asyncio.gather(*(router.register(f"subj{n}", "s", None) for n in range(3)))
    assert connection.written == [
        b"SUB subj0 1\r\n",
        b"SUB subj1 1\r\n",
        b"SUB subj2 1\r\n",
        b"PING\r\n",
    ]
    assert connection._pending == []
    for waiter in waiters:
        await router.release(waiter)


async def test_a_transport_that_only_queues_writes_gets_drained(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    # Not nats-py's TcpTransport (a websocket, here the fake): its flusher must drain the PING.
    await router.release(await router.register("subj", "s", None))
    assert connection._flush_queue.qsize() == 1 and connection._pending_data_size == 6


async def test_a_reconnect_leaves_the_next_confirmation_to_its_own_ping(
    router: ResponseRouter, connection: FakeConnection
) -> None:
    # Its PING is not sent yet: pinging it at the reconnect could confirm it before SUBs that
    # join it later in this loop turn.
    registering = asyncio.create_task(router.register("subj", "s", None))
    await asyncio.sleep(0)  # subscribed; the confirmation's PING goes out on the next turn
    await router._on_reconnected()
    await router.release(await asyncio.wait_for(registering, 1))
    assert connection.pings == 1


async def test_a_confirmation_still_ends_at_its_deadline(
    router: ResponseRouter, connection: FakeConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(responses, "_CONFIRM_TIMEOUT", 0.2)
    registering = await unconfirmed_registration(router, connection, 0.1)
    await router._on_reconnected()  # a new PING, also unanswered: the deadline still holds
    with pytest.raises(NatsUnavailableError, match="did not confirm"):
        await asyncio.wait_for(registering, 1)
    assert connection.pings == 2


async def test_waiters_record_the_connection_changes_they_saw(
    router: ResponseRouter,
) -> None:
    first = await router.register("subj", "s1", "m1")
    await router._on_disconnected()
    await router._on_reconnected()
    second = await router.register("subj", "s1", "m2")
    assert (first.changes_seen, second.changes_seen, router.connection_changes) == (0, 2, 2)
    await router.release(first)
    await router.release(second)


async def test_a_routing_failure_is_logged_and_never_reaches_nats_py(
    router: ResponseRouter,
    connection: FakeConnection,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Routing runs inside nats-py's read loop, which stops for good on an exception.
    waiter = await router.register("subj", "s1", "m1")

    def broken(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(responses._SessionGroup, "offer", broken)
    await connection.deliver("subj", answer("s1", "m1"))
    assert "routing a message on subj failed" in caplog.text
    monkeypatch.undo()
    await connection.deliver("subj", answer("s1", "m1", n=1))
    assert waiter.future.result()["response"] == {"n": 1}
    await router.release(waiter)
