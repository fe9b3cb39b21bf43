"""Response layer v2 against the real local stack: client-chosen message ids make a repeat
send nothing new (also across a crash), and only what the contract allows settles a wait."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import types
from collections.abc import AsyncIterator

import httpx
import nats
import pytest

from session_client import (
    AsyncSessionClient,
    ClientClosedError,
    ConflictError,
    NatsUnavailableError,
    ResponseTimeoutError,
    SessionClient,
    SessionRejectedError,
)
from session_client._rest import _call
from session_client._wait import _nats, _routing, _waiter
from session_client.testing import LocalStack, SimulatedHuman

from ..ports import free_port
from .conftest import pending_waits, unique

pytestmark = pytest.mark.integration


@pytest.fixture
async def publisher(stack: LocalStack) -> AsyncIterator[nats.NATS]:
    connection = await nats.connect(stack.nats_url)
    yield connection
    await connection.close()


async def pending_wait(
    aclient: AsyncSessionClient, human: SimulatedHuman, subject_id: str, message_id: str
) -> tuple[str, asyncio.Task[dict[str, object]]]:
    """A session whose message ``message_id`` waits for an answer the human does not give."""
    human.stay_silent()
    sid = unique("trust")
    await aclient.create_session(sid, subject_id=subject_id)
    count = len(human.received)
    wait = asyncio.create_task(
        aclient.send_and_wait_for_response(
            sid, "c", "m", subject_id, timeout=10, message_id=message_id
        )
    )
    await asyncio.to_thread(human.wait_for_messages, count + 1, 5)
    return sid, wait


# -- client-chosen message ids --------------------------------------------------------------


async def test_a_send_repeated_with_its_message_id_creates_one_message(
    aclient: AsyncSessionClient, stack: LocalStack, human: SimulatedHuman
) -> None:
    human.stay_silent()
    sid = unique("same-id")
    await aclient.create_session(sid, subject_id="subj.same")
    before, delivered = stack.server.store.count_messages(), len(human.received)  # type: ignore[union-attr]
    first = await aclient.send_message(sid, "c", "Approve?", message_id="order-7:approval")
    again = await aclient.send_message(sid, "c", "Approve?", message_id="order-7:approval")
    assert first == again and first["message_id"] == "order-7:approval"
    assert stack.server.store.count_messages() == before + 1  # type: ignore[union-attr]
    await asyncio.sleep(0.1)
    assert len(human.received) == delivered + 1  # delivered to the human once
    with pytest.raises(ConflictError):
        await aclient.send_message(sid, "c", "Something else?", message_id="order-7:approval")


def test_the_sync_client_sends_a_message_id_once_too(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.answer_with({"approved": True})
    with SessionClient(stack.api_url, [stack.nats_url]) as client:
        sid = unique("sync-id")
        client.create_session(sid)
        first = client.send_and_wait_for_response(
            sid, "c", "m", "subj.syncid", timeout=10, message_id=f"{sid}:step-1"
        )
        again = client.send_and_wait_for_response(
            sid, "c", "m", "subj.syncid", timeout=10, message_id=f"{sid}:step-1"
        )
        assert first == again and first["message_id"] == f"{sid}:step-1"
        assert (
            client.send_message(
                sid, "c", "m", subject_id="subj.syncid", message_id=f"{sid}:step-1"
            )["state"]
            == "ANSWERED"
        )


async def test_a_process_that_crashed_mid_wait_resumes_with_the_same_message_id(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.stay_silent()
    sid, step = unique("crash"), "approval"
    before = stack.server.store.count_messages()  # type: ignore[union-attr]
    # The first process sends and dies while waiting (its task and client are gone).
    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as first:
        await first.create_session(sid)
        dying = asyncio.create_task(
            first.send_and_wait_for_response(
                sid, "c", "Approve?", "subj.crash", timeout=30, message_id=f"{sid}:{step}"
            )
        )
        (message,) = (await asyncio.to_thread(human.wait_for_messages, len(human.received) + 1, 5))[
            -1:
        ]
        dying.cancel()
    # The human answers while no process is waiting.
    async with httpx.AsyncClient() as http:
        answered = await http.post(
            f"{stack.api_url}/sessions/{sid}/messages/{message['message_id']}/response",
            json={"response": {"approved": True}},
        )
        answered.raise_for_status()
    # The restarted process runs the same code: it attaches to the message, sends nothing new.
    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as second:
        answer = await second.send_and_wait_for_response(
            sid, "c", "Approve?", "subj.crash", timeout=5, message_id=f"{sid}:{step}"
        )
    assert answer["message_id"] == f"{sid}:{step}" and answer["response"] == {"approved": True}
    assert stack.server.store.count_messages() == before + 1  # type: ignore[union-attr]


async def test_a_timeout_error_names_the_message_even_when_the_send_reply_is_slow(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    class SlowReplies(httpx.AsyncHTTPTransport):
        """A proxy that passes the request on at once and the reply 3 s later."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            if request.method == "POST" and request.url.path.endswith("/messages"):
                await asyncio.sleep(3)
            return response

    human.stay_silent()
    sid = unique("slow")
    async with AsyncSessionClient(
        stack.api_url, [stack.nats_url], http_transport=SlowReplies()
    ) as slow:
        await slow.create_session(sid)
        with pytest.raises(ResponseTimeoutError) as raised:
            await slow.send_and_wait_for_response(sid, "c", "m", "subj.slow", timeout=1)
    message_id = raised.value.message_id
    assert message_id is not None
    async with httpx.AsyncClient() as http:
        record = (await http.get(f"{stack.api_url}/sessions/{sid}/messages/{message_id}")).json()
    assert record["state"] == "SENT"  # it reached the human, and the caller can resume it


# -- trusting only what the contract says ---------------------------------------------------


@pytest.mark.parametrize(
    "forged",
    [
        {"junk": 1},  # no message_id: must not settle every wait of the session
        {"message_id": "{mid}", "response": "yes"},  # the right ids, a mistyped answer
        {
            "message_id": "{mid}",
            "channel_id": "c",
            "subject_id": "subj.trust",
            "response": {"approved": True},
        },  # the right ids, a member missing
        {"event": "session.closed", "status": "FAILED", "at": "2026-11-30T10:00:00Z"},
    ],
    ids=["no-message-id", "mistyped", "missing-member", "unknown-event"],
)
async def test_a_payload_the_contract_does_not_allow_settles_no_wait(
    aclient: AsyncSessionClient,
    human: SimulatedHuman,
    publisher: nats.NATS,
    forged: dict[str, object],
) -> None:
    mid = unique("msg")
    sid, wait = await pending_wait(aclient, human, "subj.trust", mid)
    payload = {"session_id": sid, **{k: v if v != "{mid}" else mid for k, v in forged.items()}}
    await publisher.publish(f"sessions.responses.subj.trust.{sid}", json.dumps(payload).encode())
    await publisher.flush()
    await asyncio.sleep(0.3)
    assert not wait.done()
    await aclient.submit_response(sid, mid, {"real": True})
    assert (await asyncio.wait_for(wait, 5))["response"] == {"real": True}


async def test_a_forged_status_event_does_not_end_the_waits_of_an_active_session(
    aclient: AsyncSessionClient, human: SimulatedHuman, publisher: nats.NATS
) -> None:
    mid = unique("msg")
    sid, wait = await pending_wait(aclient, human, "subj.forged", mid)
    forged = {"event": "session.status", "session_id": sid, "status": "FAILED"}
    forged["at"] = "2026-11-30T10:00:00Z"
    # Not a fixed sleep, which a slower bug outlasts: the wait is checked once the client has
    # asked the REST API and dismissed the event.
    dismissed = asyncio.Event()

    class Dismissals(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if sid in record.getMessage() and "is open" in record.getMessage():
                dismissed.set()

    handler, waits = Dismissals(), logging.getLogger("session_client.waits")
    waits.addHandler(handler)
    try:
        await publisher.publish(
            f"sessions.responses.subj.forged.{sid}", json.dumps(forged).encode()
        )
        await publisher.flush()
        await asyncio.wait_for(dismissed.wait(), 5)
    finally:
        waits.removeHandler(handler)
    await asyncio.sleep(0)  # anything it did next has run
    assert not wait.done()
    # A real rejection is confirmed and ends the wait at once.
    started = time.monotonic()
    await aclient.reject_session(sid)
    with pytest.raises(SessionRejectedError):
        await asyncio.wait_for(wait, 5)
    assert time.monotonic() - started < 2


# -- recovery ---------------------------------------------------------------------------------


class Recording(httpx.AsyncHTTPTransport):
    """Counts requests by path; ``refuse`` paths fail as if the API were unreachable."""

    def __init__(self, refuse: str = "") -> None:
        super().__init__()
        self.paths: list[str] = []
        self.refuse = refuse

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if self.refuse and request.url.path.startswith(self.refuse):
            raise httpx.ConnectError("refused by the test", request=request)
        return await super().handle_async_request(request)


async def outage(stack: LocalStack, answer: list[tuple[str, str]]) -> None:
    """SIGKILL NATS, answer ``answer`` (session, message) through REST, restart NATS."""
    assert stack.nats_server is not None
    stack.nats_server.kill()
    async with httpx.AsyncClient(base_url=stack.api_url) as http:
        for sid, mid in answer:
            path = f"/sessions/{sid}/messages/{mid}/response"
            (await http.post(path, json={"response": {"to": mid}})).raise_for_status()
    await asyncio.to_thread(stack.nats_server.start)


def skew_host_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """This host's wall clock, as the client's modules see it, runs ``seconds`` ahead."""
    shim = types.SimpleNamespace(time=lambda: time.time() + seconds)
    for module in (_routing, _waiter, _nats, _call):
        monkeypatch.setattr(module, "time", shim)


@pytest.mark.parametrize("skew", [0, 180, -180], ids=["same-clock", "ahead", "behind"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "core-nats"])
async def test_answers_published_while_the_client_was_away_are_recovered(
    stream: bool, skew: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client reconnects 2 s after the server's publisher (0.1 s): what the publisher's
    # outbox sends on reconnecting reaches nobody, and the REST API cannot help while NATS is
    # down (refused), so only the reconnect's recovery can find it - a stream replay, or one
    # REST request per subject where no stream covers it. Both servers keep their own time,
    # which this host's clock may be minutes off from.
    skew_host_clock(monkeypatch, skew)
    with LocalStack(stream=stream) as own:
        own.human.stay_silent()
        recording = Recording(refuse="/messages/settled")
        async with AsyncSessionClient(
            own.api_url,
            [own.nats_url],
            http_transport=recording,
            nats_options={"reconnect_time_wait": 2.0},
        ) as client:
            sessions = [unique("away") for _ in range(6)]
            for sid in sessions:
                await client.create_session(sid)
            waits = [
                asyncio.create_task(
                    client.send_and_wait_for_response(
                        sid, "c", "m", f"subj.away.{n % 2}", timeout=20, message_id=f"{sid}:q"
                    )
                )
                for n, sid in enumerate(sessions)
            ]
            await asyncio.to_thread(own.human.wait_for_messages, len(sessions), 5)
            await outage(own, [(sid, f"{sid}:q") for sid in sessions])
            if not stream:
                recording.refuse = ""  # once NATS is back, the REST API may be asked
            answers = await asyncio.wait_for(asyncio.gather(*waits), 15)
        assert [a["response"] for a in answers] == [{"to": f"{sid}:q"} for sid in sessions]
        if not stream:
            assert "/messages/settled" in recording.paths  # asked per subject
        sends = [path for path in recording.paths if path.endswith("/messages")]
        assert len(sends) == len(sessions)


async def test_a_status_event_is_confirmed_once_per_session_however_many_waits_it_has(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.stay_silent()
    recording = Recording()
    sid = unique("confirm-once")
    async with AsyncSessionClient(
        stack.api_url, [stack.nats_url], http_transport=recording
    ) as client:
        await client.create_session(sid)
        count = len(human.received)
        waits = [
            asyncio.create_task(
                client.send_and_wait_for_response(sid, "c", f"m{n}", "subj.once", timeout=10)
            )
            for n in range(10)
        ]
        await asyncio.to_thread(human.wait_for_messages, count + 10, 5)
        await client.reject_session(sid)
        results = await asyncio.gather(*waits, return_exceptions=True)
    assert all(isinstance(result, SessionRejectedError) for result in results)
    assert recording.paths.count(f"/sessions/{sid}") == 1


async def test_recovery_takes_a_small_share_of_the_http_pool_and_never_starves_calls() -> None:
    # 40 subjects, and NATS goes down: every subject's REST round is due at once. They may hold
    # at most RECOVERY_SLOTS of the pool's connections, so a call made meanwhile runs at once.
    from session_client._wait._waiter import RECOVERY_SLOTS

    class SlowFeed(httpx.AsyncHTTPTransport):
        def __init__(self) -> None:
            super().__init__()
            self.in_flight = self.most = self.asked = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path != "/messages/settled":
                return await super().handle_async_request(request)
            self.in_flight += 1
            self.asked += 1
            self.most = max(self.most, self.in_flight)
            try:
                await asyncio.sleep(0.2)
                return await super().handle_async_request(request)
            finally:
                self.in_flight -= 1

    with LocalStack() as own:
        own.human.stay_silent()
        feed = SlowFeed()
        async with AsyncSessionClient(own.api_url, [own.nats_url], http_transport=feed) as client:
            sid = unique("budget")
            await client.create_session(sid)
            waits = pending_waits(client, sid, [f"subj.budget.{n}" for n in range(40)])
            await asyncio.to_thread(own.human.wait_for_messages, 40, 5)
            assert own.nats_server is not None
            own.nats_server.stop()
            async with asyncio.timeout(5):
                while feed.asked < 2 * RECOVERY_SLOTS:  # noqa: ASYNC110 - counted by the transport
                    await asyncio.sleep(0.01)
            started = time.monotonic()
            assert (await client.get_session(sid))["status"] == "ACTIVE"
            waited = time.monotonic() - started
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
    assert feed.most == RECOVERY_SLOTS
    assert waited < 0.2  # not queued behind the recovery's requests


async def test_a_closed_client_neither_waits_nor_connects_again(stack: LocalStack) -> None:
    client = AsyncSessionClient(stack.api_url, [stack.nats_url])
    sid = unique("closed")
    await client.create_session(sid)
    # A wait still making the first connection when the client closes.
    first = asyncio.create_task(client.wait_for_response(sid, "subj.closed", timeout=5))
    await asyncio.sleep(0)
    await client.aclose()
    # It ends with the closed client's error, and no NATS connection outlives the client.
    (outcome,) = await asyncio.gather(first, return_exceptions=True)
    assert isinstance(outcome, ClientClosedError)
    with pytest.raises(ClientClosedError, match="closed"):
        await client.wait_for_response(sid, "subj.closed", timeout=5)
    connection = client.nats_connection
    assert connection is None or connection.is_closed


async def test_a_failed_first_connect_does_not_leave_the_waits_polling_as_if_nats_were_down(
    stack: LocalStack,
) -> None:
    link = _nats.NatsLink(
        [f"nats://127.0.0.1:{free_port()}"],
        {"connect_timeout": 0.5},
        on_disconnected=lambda: None,
        on_reconnected=lambda: None,
        on_closed=lambda: None,
    )
    with pytest.raises(NatsUnavailableError):
        await link.connect()
    assert link.disconnected is False


async def test_waits_fail_when_nats_py_gives_up_and_later_waits_subscribe_afresh() -> None:
    with LocalStack() as own:
        own.human.stay_silent()
        options = {"max_reconnect_attempts": 1, "reconnect_time_wait": 0.1}
        async with AsyncSessionClient(own.api_url, [own.nats_url], nats_options=options) as client:
            sid = unique("give-up")
            await client.create_session(sid)
            wait = asyncio.create_task(
                client.send_and_wait_for_response(sid, "c", "m", "subj.giveup", timeout=30)
            )
            await asyncio.to_thread(own.human.wait_for_messages, 1, 5)
            assert own.nats_server is not None
            own.nats_server.stop()
            started = time.monotonic()
            with pytest.raises(NatsUnavailableError):
                await wait
            assert time.monotonic() - started < 10
            assert client.subscription_count == 0
            await asyncio.to_thread(own.nats_server.start)
            own.human.answer_with({"again": True})
            answer = await client.send_and_wait_for_response(
                sid, "c", "m2", "subj.giveup", timeout=10
            )
            assert answer["response"] == {"again": True}


async def test_a_feed_cursor_the_server_refuses_is_dropped_for_a_time_based_round() -> None:
    class ForgetfulServer(Recording):
        """Answers 422 to the first feed request that carries a cursor (a store reset)."""

        refused_cursor = False

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if not self.refused_cursor and "cursor=" in str(request.url.query):
                self.refused_cursor = True
                return httpx.Response(422, json={"type": "x", "title": "x", "status": 422})
            return await super().handle_async_request(request)

    with LocalStack(stream=False) as own:
        own.human.stay_silent()
        transport = ForgetfulServer()
        async with AsyncSessionClient(
            own.api_url, [own.nats_url], http_transport=transport
        ) as client:
            sid = unique("cursor")
            await client.create_session(sid)
            waits = [
                asyncio.create_task(
                    client.send_and_wait_for_response(
                        sid, "c", f"m{n}", "subj.cursor", timeout=20, message_id=f"{sid}:{n}"
                    )
                )
                for n in range(2)
            ]
            await asyncio.to_thread(own.human.wait_for_messages, 2, 5)
            assert own.nats_server is not None
            own.nats_server.kill()  # and it stays down: only the feed can answer
            async with httpx.AsyncClient(base_url=own.api_url) as http:
                for n in range(2):
                    path = f"/sessions/{sid}/messages/{sid}:{n}/response"
                    (await http.post(path, json={"response": {"n": n}})).raise_for_status()
                    await asyncio.sleep(1.5)  # the second after the first round set a cursor
            answers = await asyncio.wait_for(asyncio.gather(*waits), 10)
    assert [answer["response"] for answer in answers] == [{"n": 0}, {"n": 1}]
    assert transport.refused_cursor


async def test_rounds_due_far_ahead_run_on_one_shared_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rounds due 0.5 s ahead or more count as far here (10 s in use): the rounds of an outage,
    # 1, 2, 4 s after it, then run on the waiter's one timer, and must still find the answer.
    monkeypatch.setattr(_waiter, "_FAR", 0.5)
    fired = 0
    far_due = _waiter.ResponseWaiter._far_due

    def counted(self: _waiter.ResponseWaiter) -> None:
        nonlocal fired
        fired += 1
        far_due(self)

    monkeypatch.setattr(_waiter.ResponseWaiter, "_far_due", counted)
    with LocalStack(stream=False) as own:
        own.human.stay_silent()
        async with AsyncSessionClient(own.api_url, [own.nats_url]) as client:
            sid = unique("far")
            await client.create_session(sid)
            waits = [
                asyncio.create_task(
                    client.send_and_wait_for_response(
                        sid, "c", "m", f"subj.far{n}", timeout=20, message_id=f"{sid}:{n}"
                    )
                )
                for n in range(3)
            ]
            await asyncio.to_thread(own.human.wait_for_messages, 3, 5)
            assert own.nats_server is not None
            own.nats_server.kill()  # and it stays down: only the REST rounds can answer
            async with httpx.AsyncClient(base_url=own.api_url) as http:
                for n in range(3):
                    path = f"/sessions/{sid}/messages/{sid}:{n}/response"
                    (await http.post(path, json={"response": {"n": n}})).raise_for_status()
            answers = await asyncio.wait_for(asyncio.gather(*waits), 10)
    assert [answer["response"] for answer in answers] == [{"n": n} for n in range(3)]
    assert fired >= 1


async def test_the_shared_round_timer_ends_with_the_last_far_off_round(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    # Left armed, the timer of a safety-net round a minute ahead would keep the waiter (and
    # its client) alive that long after its last wait.
    human.stay_silent()
    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as client:
        sid = unique("farend")
        await client.create_session(sid)
        waits = pending_waits(client, sid, [f"subj.farend{n}" for n in range(2)])
        await asyncio.to_thread(human.wait_for_messages, 2, 5)
        waiter = client._waiter
        timer = waiter._far_timer
        assert timer is not None
        for n, wait in enumerate(waits):
            wait.cancel()
            await asyncio.gather(wait, return_exceptions=True)
            # One far-off round left: the timer stays; none: it is cancelled and gone.
            assert (waiter._far_timer is None) is (n == 1)
        assert timer.cancelled()
