"""SessionClient / AsyncSessionClient against the real local stack (HTTP + nats-server)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from session_client import (
    AsyncSessionClient,
    AuthenticationError,
    ConflictError,
    NatsUnavailableError,
    NotFoundError,
    ResponseTimeoutError,
    SessionClient,
    SessionExpiredError,
    SessionRejectedError,
)
from session_client.testing import LocalStack, SimulatedHuman

from ..lingering import nats_subscriptions, subscriptions_left, subscriptions_left_sync
from .conftest import pending_waits, unique

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("http_backend")]


@pytest.fixture
def client(stack: LocalStack) -> Iterator[SessionClient]:
    with SessionClient(stack.api_url, [stack.nats_url]) as sync_client:
        yield sync_client


def test_create_session_returns_it_and_a_repeat_with_the_same_fields_is_idempotent(
    client: SessionClient,
) -> None:
    sid = unique("create")
    subject = f"{sid}.subject"  # its own: the module's stack serves every backend's run
    fields: dict[str, Any] = {
        "message_data": {"k": 1},
        "message_data_template": {"type": "object"},
        "expiry_date": 4102444800,
        "subject_id": subject,
    }
    created = client.create_session(sid, **fields)
    assert created["status"] == "ACTIVE" and created["message_data"] == {"k": 1}
    assert client.create_session(sid, **fields) == client.get_session(sid) == created
    with pytest.raises(ConflictError):
        client.create_session(sid, message_data={"k": 2})


def test_list_sessions_filters_by_subject(client: SessionClient) -> None:
    subject = unique("listed")
    sid = client.create_session(unique("listed"), subject_id=subject)["session_id"]
    client.create_session(unique("elsewhere"), subject_id=unique("other"))
    page = client.list_sessions(subject_id=subject, limit=1)
    assert [item["session_id"] for item in page["items"]] == [sid]


def test_a_message_is_answered_once(client: SessionClient, human: SimulatedHuman) -> None:
    human.stay_silent()
    subject = unique("answered")
    sid = client.create_session(unique("answered"), subject_id=subject)["session_id"]
    sent = client.send_message(sid, "chan", "hello")
    assert sent["state"] == "SENT" and sent["subject_id"] == subject
    answered = client.submit_response(sid, sent["message_id"], {"ok": True})
    assert answered["state"] == "ANSWERED" and answered["response"] == {"ok": True}
    assert client.get_message(sid, sent["message_id"])["response"] == {"ok": True}
    with pytest.raises(ConflictError):
        client.submit_response(sid, sent["message_id"], {"ok": False})


def test_reject_session_fails_it_and_a_repeat_changes_nothing(client: SessionClient) -> None:
    sid = client.create_session(unique("rejected"))["session_id"]
    assert client.reject_session(sid)["status"] == "FAILED"
    assert client.reject_session(sid)["status"] == "FAILED"
    assert client.get_session(sid)["status"] == "FAILED"


def test_a_missing_session_raises_not_found(client: SessionClient) -> None:
    with pytest.raises(NotFoundError):
        client.get_session(unique("missing"))


def test_expire_sessions_expires_those_past_their_expiry_date(client: SessionClient) -> None:
    late = client.create_session(unique("late"), expiry_date=int(time.time()) - 5)["session_id"]
    live = client.create_session(unique("live"), expiry_date=4102444800)["session_id"]
    expired = client.expire_sessions()["session_ids"]
    assert late in expired and live not in expired
    assert client.get_session(late)["status"] == "EXPIRED"
    assert client.get_session(live)["status"] == "ACTIVE"


def test_list_sessions_pages_with_the_cursor(client: SessionClient) -> None:
    subject = unique("pages")
    ids = [
        client.create_session(unique("page"), subject_id=subject)["session_id"] for _ in range(5)
    ]
    seen, cursor = [], None
    while True:
        page = client.list_sessions(subject_id=subject, limit=2, cursor=cursor)
        seen += [item["session_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


def test_send_and_wait_returns_the_documented_payload(
    client: SessionClient, human: SimulatedHuman
) -> None:
    human.answer_with({"approved": True, "by": "alice"}, delay=0.05)
    sid = unique("wait")
    client.create_session(sid, subject_id="subj.wait")
    response = client.send_and_wait_for_response(sid, "chan", "Approve?", "subj.wait", timeout=10)
    assert set(response) == {
        "session_id",
        "message_id",
        "channel_id",
        "subject_id",
        "response",
        "responded_at",
    }
    assert response["session_id"] == sid and response["response"] == {
        "approved": True,
        "by": "alice",
    }
    assert client.get_message(sid, response["message_id"])["state"] == "ANSWERED"
    assert subscriptions_left_sync(client) == 0


async def test_instant_responder_is_never_missed(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.answer_with({"instant": True}, delay=0)
    sid = unique("instant")
    await aclient.create_session(sid)
    for _ in range(50):
        response = await aclient.send_and_wait_for_response(sid, "c", "now", "instant", timeout=5)
        assert response["response"] == {"instant": True}


async def test_timeout_raises_a_resumable_error_and_leaves_the_session_open(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.stay_silent()
    sid = unique("timeout")
    await aclient.create_session(sid)
    started = time.monotonic()
    with pytest.raises(ResponseTimeoutError) as raised:
        await aclient.send_and_wait_for_response(sid, "c", "m", "subj.timeout", timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 3
    error = raised.value
    assert isinstance(error, TimeoutError)
    assert (error.session_id, error.subject, error.timeout) == (
        sid,
        f"sessions.responses.subj.timeout.{sid}",  # the session's subject, listened on
        0.5,
    )
    assert error.message_id is not None
    assert await subscriptions_left(aclient) == 0
    assert (await aclient.get_session(sid))["status"] == "ACTIVE"

    # Resume: the human answers later through the webhook; the resumed wait gets it.
    async def answer_soon() -> None:
        await asyncio.sleep(0.2)
        await aclient.submit_response(sid, error.message_id or "", {"late": True})

    answering = asyncio.create_task(answer_soon())
    resumed = await aclient.wait_for_response(sid, "subj.timeout", error.message_id, timeout=5)
    await answering
    assert resumed["response"] == {"late": True}


async def test_resume_after_the_answer_was_already_published(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.answer_with({"early": 1})
    sid = unique("resume")
    await aclient.create_session(sid, subject_id="subj.resume")
    sent = await aclient.send_message(sid, "c", "m")  # nobody listens when it is answered
    for _ in range(100):
        if (await aclient.get_message(sid, sent["message_id"]))["state"] == "ANSWERED":
            break
        await asyncio.sleep(0.02)
    response = await aclient.wait_for_response(sid, "subj.resume", sent["message_id"], timeout=2)
    assert response["message_id"] == sent["message_id"] and response["response"] == {"early": 1}


@pytest.mark.parametrize("outcome", ["reject", "expire"])
async def test_session_closing_while_waiting_wakes_the_waiter_at_once(
    aclient: AsyncSessionClient, human: SimulatedHuman, outcome: str
) -> None:
    human.stay_silent()
    sid = unique(outcome)
    await aclient.create_session(
        sid, expiry_date=int(time.time()) + (1 if outcome == "expire" else 3600)
    )
    wait = asyncio.create_task(
        aclient.send_and_wait_for_response(sid, "c", "m", "subj.close", timeout=30)
    )
    await asyncio.to_thread(human.wait_for_messages, len(human.received) + 1, 5)
    started = time.monotonic()
    if outcome == "reject":
        await aclient.reject_session(sid)
        expected: type[Exception] = SessionRejectedError
    else:
        await asyncio.sleep(1.1)
        assert sid in (await aclient.expire_sessions())["session_ids"]
        expected = SessionExpiredError
    with pytest.raises(expected) as raised:
        await wait
    assert time.monotonic() - started < 3
    assert raised.value.session_id == sid
    assert await subscriptions_left(aclient) == 0
    # Resuming a closed session's wait says so immediately (from the REST API).
    with pytest.raises(expected):
        await aclient.wait_for_response(sid, "subj.close", raised.value.message_id, timeout=5)


async def test_a_thousand_concurrent_waits_each_get_their_own_answer(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.answer_using(lambda message: {"echo": message["message"]})
    sessions = [unique("many") for _ in range(10)]
    for sid in sessions:
        await aclient.create_session(sid)
    results = await asyncio.gather(
        *[
            aclient.send_and_wait_for_response(
                sessions[i % 10], "c", f"question {i}", f"subj.many.{i % 3}", timeout=120
            )
            for i in range(1000)
        ]
    )
    assert [result["response"] for result in results] == [
        {"echo": f"question {i}"} for i in range(1000)
    ]
    assert len({result["message_id"] for result in results}) == 1000
    assert await subscriptions_left(aclient) == 0


async def test_cancelled_and_timed_out_waits_leave_no_subscription(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.stay_silent()
    sid = unique("cancel")
    await aclient.create_session(sid)
    tasks = pending_waits(aclient, sid, [f"subj.c{i % 4}" for i in range(40)])
    await asyncio.to_thread(human.wait_for_messages, len(human.received) + 40, 10)
    # One per session and subject, and, as no answer came yet to show that the server
    # publishes per session, one per subject on its subject-wide form (asyncapi.yaml).
    assert aclient.subscription_count == 8 and nats_subscriptions(aclient) == 8
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
    timed_out = await asyncio.gather(
        *[aclient.wait_for_response(sid, f"subj.t{i}", timeout=0.2) for i in range(5)],
        return_exceptions=True,
    )
    assert all(isinstance(result, ResponseTimeoutError) for result in timed_out)
    assert await subscriptions_left(aclient) == 0


def test_one_nats_connection_is_made_lazily_and_reused(client: SessionClient) -> None:
    assert client.async_client.nats_connection is None
    sid = unique("lazy")
    client.create_session(sid)
    assert client.async_client.nats_connection is None  # REST calls need no NATS
    client.send_and_wait_for_response(sid, "c", "m", "subj.lazy", timeout=10)
    first = client.async_client.nats_connection
    client.send_and_wait_for_response(sid, "c", "m", "subj.lazy", timeout=10)
    assert client.async_client.nats_connection is first


def test_sync_client_from_sixteen_threads(client: SessionClient) -> None:
    sid = unique("threads")
    client.create_session(sid)
    results: dict[int, Any] = {}

    def worker(n: int) -> None:
        results[n] = [
            client.send_and_wait_for_response(sid, "c", f"t{n}-{i}", f"subj.thr{n}", timeout=30)
            for i in range(5)
        ]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == list(range(16))
    assert len({r["message_id"] for rs in results.values() for r in rs}) == 80
    assert subscriptions_left_sync(client) == 0


def test_sync_client_inside_a_running_event_loop(client: SessionClient) -> None:
    sid = unique("jupyter")

    async def notebook_cell() -> dict[str, Any]:
        client.create_session(sid)
        return client.send_and_wait_for_response(sid, "c", "m", "subj.nb", timeout=10)

    assert asyncio.run(notebook_cell())["session_id"] == sid


def test_closing_the_sync_client_stops_its_thread(stack: LocalStack) -> None:
    before = threading.active_count()
    with SessionClient(stack.api_url, [stack.nats_url]) as client:
        sid = unique("close")
        client.create_session(sid)
        client.send_and_wait_for_response(sid, "c", "m", "subj.close2", timeout=10)
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before
    with pytest.raises(RuntimeError, match="closed"):
        client.get_session(sid)


@pytest.mark.parametrize("options", [{}, {"max_reconnect_attempts": 0}])
async def test_unreachable_nats_is_a_typed_error_even_for_a_short_wait(
    stack: LocalStack, options: dict[str, Any]
) -> None:
    async with AsyncSessionClient(
        stack.api_url, ["nats://127.0.0.1:1"], nats_options=options
    ) as client:
        sid = unique("nonats")
        await client.create_session(sid)
        with pytest.raises(NatsUnavailableError):  # not a ResponseTimeoutError: nothing to resume
            await client.send_and_wait_for_response(sid, "c", "m", "subj.none", timeout=2)


def test_api_token_is_required_and_sent() -> None:
    with LocalStack(api_token="s3cret-token") as secured:
        with SessionClient(secured.api_url, [secured.nats_url], api_key="wrong") as wrong:
            with pytest.raises(AuthenticationError) as raised:
                wrong.get_session("x")
            assert "wrong" not in str(raised.value)
        with SessionClient(secured.api_url, [secured.nats_url], api_key="s3cret-token") as right:
            right.create_session("tok")
            assert right.send_and_wait_for_response("tok", "c", "m", "subj.tok", timeout=10)[
                "response"
            ]


async def test_answers_arrive_from_the_rest_api_while_nats_is_down() -> None:
    with LocalStack() as own:
        own.human.stay_silent()
        async with AsyncSessionClient(own.api_url, [own.nats_url]) as waiting:
            await waiting.create_session("nats-down")
            wait = asyncio.create_task(
                waiting.send_and_wait_for_response("nats-down", "c", "m", "subj.down", timeout=20)
            )
            (message,) = await asyncio.to_thread(own.human.wait_for_messages, 1, 5)
            assert own.nats_server is not None
            own.nats_server.stop()  # and it stays down
            await asyncio.sleep(0.5)
            await waiting.submit_response("nats-down", message["message_id"], {"via": "rest"})
            started = time.monotonic()
            response = await wait
            assert response["response"] == {"via": "rest"}
            assert time.monotonic() - started < 5  # polled, not timed out


async def test_the_waits_send_their_extra_headers(stack: LocalStack, http_backend: str) -> None:
    if http_backend == "aiohttp":
        pytest.skip("the headers are recorded by an httpx transport")
    httpx_module = __import__(http_backend)
    seen: list[tuple[str, str | None]] = []

    class Recording(httpx_module.AsyncHTTPTransport):  # type: ignore[misc,name-defined]
        async def handle_async_request(self, request: Any) -> Any:
            seen.append((request.url.path, request.headers.get("x-trace")))
            return await super().handle_async_request(request)

    sid = unique("headers")
    async with AsyncSessionClient(
        stack.api_url, [stack.nats_url], http_transport=Recording()
    ) as client:
        await client.create_session(sid)
        answer = await client.send_and_wait_for_response(
            sid, "c", "m", "subj.headers", 10, extra_headers={"X-Trace": "send"}
        )
        await client.wait_for_response(
            sid, "subj.headers", answer["message_id"], 10, extra_headers={"X-Trace": "wait"}
        )
    assert (f"/sessions/{sid}/messages", "send") in seen
    assert (f"/sessions/{sid}/messages/{answer['message_id']}", "wait") in seen


async def test_deeply_nested_message_data_is_sent_or_refused_typed(
    aclient: AsyncSessionClient,
) -> None:
    # Was a raw RecursionError (issue 26, item 7; Python 3.11's json refuses such depth).
    nested: dict[str, Any] = {}
    inner = nested
    for _ in range(5_000):
        inner["x"] = inner = {}
    sid = unique("deep")
    try:
        await aclient.create_session(sid, nested)
    except ValueError as exc:  # refused before anything was sent, naming the argument
        assert "message_data is nested too deeply" in str(exc)
        return
    assert (await aclient.get_session(sid))["message_data"] == nested
