"""The reference server's v2 contract over real HTTP and a real nats-server: client-chosen
message ids, the settled-message feed (``listSettledMessages``) and at-least-once publishing
through the outbox across NATS outages. Plain httpx and nats-py, no SessionClient."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from session_client.testing import LocalStack, NatsServer, ReferenceServer, SimulatedHuman
from session_client.testing.contracts import ContractValidator

from ..ports import free_port

pytestmark = pytest.mark.integration

CONTRACT = ContractValidator()


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
async def api(stack: LocalStack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the module's local stack."""
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as client:
        yield client


@pytest.fixture
def silent(human: SimulatedHuman) -> Iterator[SimulatedHuman]:
    """The stack's human, never answering during the test."""
    human.stay_silent()
    yield human


async def create_session(
    api: httpx.AsyncClient,
    session_id: str,
    subject_id: str | None = None,
    expiry_date: int | None = None,
) -> None:
    body = {"session_id": session_id, "subject_id": subject_id, "expiry_date": expiry_date}
    response = await api.post("/sessions", json=body)
    assert response.status_code == 201, response.text


async def send(
    api: httpx.AsyncClient, session_id: str, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    body.setdefault("channel_id", "chan")
    body.setdefault("message", "ok?")
    return await api.post(f"/sessions/{session_id}/messages", json=body, headers=headers)


async def send_id(api: httpx.AsyncClient, session_id: str, message_id: str) -> str:
    response = await send(api, session_id, message_id=message_id)
    assert response.status_code == 202, response.text
    return message_id


async def send_plain(api: httpx.AsyncClient, session_id: str) -> str:
    """Send a message with a server-made id; return the id."""
    response = await send(api, session_id)
    assert response.status_code == 202, response.text
    message_id: str = response.json()["message_id"]
    return message_id


async def answer(api: httpx.AsyncClient, session_id: str, message_id: str) -> dict[str, Any]:
    response = await api.post(
        f"/sessions/{session_id}/messages/{message_id}/response",
        json={"response": {"id": message_id}},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def get_message(api: httpx.AsyncClient, session_id: str, message_id: str) -> Any:
    response = await api.get(f"/sessions/{session_id}/messages/{message_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def settled(api: httpx.AsyncClient, subject_id: str, **params: Any) -> dict[str, Any]:
    response = await api.get("/messages/settled", params={"subject_id": subject_id, **params})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert CONTRACT.errors("SettledMessagePage", page, "body") == []
    return page


def ids(page: dict[str, Any]) -> list[str]:
    return [item["message_id"] for item in page["items"]]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def problem_type(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json"
    kind: str = response.json()["type"]
    return kind


# -- client-chosen message ids ---------------------------------------------------------------


async def test_repeated_message_id_with_the_same_body_returns_the_message_as_it_is_now(
    stack: LocalStack, api: httpx.AsyncClient, human: SimulatedHuman
) -> None:
    assert stack.server is not None
    await create_session(api, "mid-same", "mid-same")
    first = await send(api, "mid-same", message_id="mid-same:1")
    assert first.status_code == 202
    assert first.json()["message_id"] == "mid-same:1"

    async def answered() -> bool:
        return bool((await get_message(api, "mid-same", "mid-same:1"))["state"] == "ANSWERED")

    await eventually(answered)
    count = stack.server.store.count_messages()
    again = await send(api, "mid-same", message_id="mid-same:1")
    assert again.status_code == 200
    assert again.json() == await get_message(api, "mid-same", "mid-same:1")
    assert again.json()["state"] == "ANSWERED"
    # The session's subject named explicitly is the same body as leaving it out.
    explicit = await send(api, "mid-same", message_id="mid-same:1", subject_id="mid-same")
    assert explicit.status_code == 200
    await asyncio.sleep(0.1)  # a wrongly spawned delivery would have run by now
    assert stack.server.store.count_messages() == count
    assert [m["message_id"] for m in human.received].count("mid-same:1") == 1


@pytest.mark.parametrize(
    "change",
    [{"message": "other"}, {"channel_id": "other"}, {"subject_id": "mid-other-subject"}],
)
async def test_repeated_message_id_with_another_body_conflicts(
    stack: LocalStack, api: httpx.AsyncClient, silent: SimulatedHuman, change: dict[str, str]
) -> None:
    assert stack.server is not None
    session_id = f"mid-diff-{next(iter(change))}"
    await create_session(api, session_id, "mid-diff")
    await send_id(api, session_id, f"{session_id}:1")
    count = stack.server.store.count_messages()
    body = {"channel_id": "chan", "message": "ok?", "message_id": f"{session_id}:1", **change}
    conflict = await api.post(f"/sessions/{session_id}/messages", json=body)
    assert conflict.status_code == 409
    assert problem_type(conflict) == "urn:session-api:message-id-conflict"
    assert stack.server.store.count_messages() == count


async def test_message_id_of_another_session_conflicts(
    api: httpx.AsyncClient, silent: SimulatedHuman
) -> None:
    await create_session(api, "mid-owner")
    await create_session(api, "mid-thief")
    await send_id(api, "mid-owner", "mid-shared")
    conflict = await send(api, "mid-thief", message_id="mid-shared")
    assert conflict.status_code == 409
    assert problem_type(conflict) == "urn:session-api:message-id-conflict"
    assert (await get_message(api, "mid-owner", "mid-shared"))["session_id"] == "mid-owner"


async def test_repeated_message_id_after_the_session_closed_returns_it_cancelled(
    api: httpx.AsyncClient, silent: SimulatedHuman
) -> None:
    await create_session(api, "mid-closed")
    await send_id(api, "mid-closed", "mid-closed:1")
    assert (await api.post("/sessions/mid-closed/reject")).status_code == 200
    again = await send(api, "mid-closed", message_id="mid-closed:1")
    assert again.status_code == 200
    assert again.json()["state"] == "CANCELLED"
    new = await send(api, "mid-closed", message_id="mid-closed:2")
    assert new.status_code == 409
    assert problem_type(new) == "urn:session-api:session-not-active"


async def test_message_id_together_with_an_idempotency_key(
    stack: LocalStack, api: httpx.AsyncClient, silent: SimulatedHuman
) -> None:
    assert stack.server is not None
    await create_session(api, "mid-idem")
    count = stack.server.store.count_messages()
    key = {"Idempotency-Key": "mid-idem-key"}
    first = await send(api, "mid-idem", headers=key, message_id="mid-idem:1")
    replay = await send(api, "mid-idem", headers=key, message_id="mid-idem:1")
    no_key = await send(api, "mid-idem", message_id="mid-idem:1")
    assert (first.status_code, replay.status_code, no_key.status_code) == (202, 202, 200)
    assert replay.headers["idempotent-replayed"] == "true"
    assert first.json() == replay.json() == no_key.json()
    assert stack.server.store.count_messages() == count + 1


@pytest.mark.parametrize("message_id", ["", "has space", "-leading-dash", "x" * 129, 7])
async def test_message_id_outside_the_contract_is_unprocessable(
    api: httpx.AsyncClient, silent: SimulatedHuman, message_id: object
) -> None:
    session_id = f"mid-bad-{len(str(message_id))}"
    await create_session(api, session_id)
    response = await send(api, session_id, message_id=message_id)
    assert response.status_code == 422
    assert problem_type(response) == "urn:session-api:validation-error"


# -- listSettledMessages ---------------------------------------------------------------------


async def test_settled_feed_pages_in_settle_order(
    api: httpx.AsyncClient, silent: SimulatedHuman
) -> None:
    await create_session(api, "feed-pages", "feed-pages")
    sent = [await send_id(api, "feed-pages", f"feed-pages:{i}") for i in range(5)]
    order = [sent[i] for i in (2, 0, 4, 1, 3)]
    for message_id in order:
        await answer(api, "feed-pages", message_id)

    first = await settled(api, "feed-pages", limit=2)
    assert (ids(first), first["has_more"]) == (order[:2], True)
    assert first["items"][0] == await get_message(api, "feed-pages", order[0])
    second = await settled(api, "feed-pages", limit=2, cursor=first["next_cursor"])
    assert (ids(second), second["has_more"]) == (order[2:4], True)
    third = await settled(api, "feed-pages", limit=2, cursor=second["next_cursor"])
    assert (ids(third), third["has_more"]) == (order[4:], False)
    drained = await settled(api, "feed-pages", limit=2, cursor=third["next_cursor"])
    assert (drained["items"], drained["has_more"]) == ([], False)
    assert drained["next_cursor"] == third["next_cursor"]
    everything = await settled(api, "feed-pages")
    assert (ids(everything), everything["has_more"]) == (order, False)
    assert {item["state"] for item in everything["items"]} == {"ANSWERED"}


async def test_settled_feed_empty_page_gives_a_cursor_that_resumes_from_now(
    api: httpx.AsyncClient, silent: SimulatedHuman
) -> None:
    await create_session(api, "feed-now", "feed-now")
    early, late = [await send_id(api, "feed-now", f"feed-now:{i}") for i in range(2)]
    await answer(api, "feed-now", early)
    empty = await settled(api, "feed-now", settled_since="2999-01-01T00:00:00Z")
    assert (empty["items"], empty["has_more"]) == ([], False)
    never = await settled(api, "feed-never-used")  # a subject without any: "now" as well
    assert never["items"] == []
    await answer(api, "feed-now", late)
    for cursor in (empty["next_cursor"], never["next_cursor"]):
        assert ids(await settled(api, "feed-now", cursor=cursor)) == [late]


async def test_settled_since_filters_whatever_the_offset_notation(
    api: httpx.AsyncClient, silent: SimulatedHuman
) -> None:
    await create_session(api, "feed-since", "feed-since")
    sent = [await send_id(api, "feed-since", f"feed-since:{i}") for i in range(3)]
    for message_id in sent:
        await answer(api, "feed-since", message_id)
        await asyncio.sleep(0.005)  # distinct settle times
    items = (await settled(api, "feed-since"))["items"]
    middle = datetime.fromisoformat(items[1]["responded_at"])
    notations = [
        items[1]["responded_at"],  # ...Z, as the server writes it
        middle.isoformat(),  # +00:00
        middle.astimezone(timezone(timedelta(hours=2))).isoformat(),
        middle.astimezone(timezone(timedelta(hours=-5, minutes=-30))).isoformat(),
        items[1]["responded_at"].replace("T", "t").replace("Z", "z"),
    ]
    for since in notations:
        assert ids(await settled(api, "feed-since", settled_since=since)) == sent[1:], since
    just_after = (middle + timedelta(microseconds=1)).isoformat()
    assert ids(await settled(api, "feed-since", settled_since=just_after)) == sent[2:]
    # cursor wins over settled_since
    first = await settled(api, "feed-since", limit=1)
    page = await settled(
        api, "feed-since", cursor=first["next_cursor"], settled_since="2999-01-01T00:00:00Z"
    )
    assert ids(page) == sent[1:]


async def test_settled_feed_lists_only_its_subject(
    api: httpx.AsyncClient, silent: SimulatedHuman
) -> None:
    await create_session(api, "feed-own", "feed-own")
    await create_session(api, "feed-other", "feed-other")
    own = await send_id(api, "feed-own", "feed-own:1")
    redirected = await send(api, "feed-other", message_id="feed-other:1", subject_id="feed-own")
    plain = await send_id(api, "feed-other", "feed-other:2")
    unsettled = await send_id(api, "feed-own", "feed-own:2")
    for session_id, message_id in (
        ("feed-own", own),
        ("feed-other", redirected.json()["message_id"]),
        ("feed-other", plain),
    ):
        await answer(api, session_id, message_id)
    assert ids(await settled(api, "feed-own")) == [own, "feed-other:1"]
    assert ids(await settled(api, "feed-other")) == [plain]
    assert unsettled not in ids(await settled(api, "feed-own"))


async def test_settled_feed_includes_cancelled_and_expired_messages(
    api: httpx.AsyncClient, silent: SimulatedHuman
) -> None:
    await create_session(api, "feed-rejected", "feed-closed")
    await create_session(api, "feed-expired", "feed-closed", expiry_date=int(time.time()) - 1)
    rejected = [await send_id(api, "feed-rejected", f"feed-rejected:{i}") for i in range(2)]
    expired = await send_id(api, "feed-expired", "feed-expired:1")
    assert (await api.post("/sessions/feed-rejected/reject")).status_code == 200
    assert "feed-expired" in (await api.post("/sessions/expire")).json()["session_ids"]
    seen: list[tuple[str, str]] = []
    cursors: list[str] = []
    page = await settled(api, "feed-closed", limit=1)
    while page["items"]:
        seen += [(item["message_id"], item["state"]) for item in page["items"]]
        cursors.append(page["next_cursor"])
        page = await settled(api, "feed-closed", limit=1, cursor=page["next_cursor"])
    assert seen == [
        (rejected[0], "CANCELLED"),
        (rejected[1], "CANCELLED"),
        (expired, "EXPIRED"),
    ]
    assert len(set(cursors)) == 3  # every closed message has its own place in the feed


@pytest.mark.parametrize(
    "query",
    [
        "",
        "subject_id=",
        "subject_id=a%20b",
        "subject_id=a.%3E",
        "subject_id=s&settled_since=yesterday",
        "subject_id=s&settled_since=2026-02-30T00:00:00Z",
        "subject_id=s&settled_since=2026-01-01T00:00:00",
        "subject_id=s&settled_since=2026-01-01T24:00:00Z",
        "subject_id=s&settled_since=2026-01-01T00:00:00%2B24:00",
        "subject_id=s&limit=0",
        "subject_id=s&limit=1001",
        "subject_id=s&limit=ten",
        "subject_id=s&cursor=XYZ",
        "subject_id=s&cursor=",
        "subject_id=s&cursor=0123456789abcdef",
    ],
)
async def test_settled_feed_rejects_parameters_outside_the_contract(
    api: httpx.AsyncClient, query: str
) -> None:
    response = await api.get(f"/messages/settled?{query}")
    assert response.status_code == 422, response.text
    assert problem_type(response) == "urn:session-api:validation-error"


def test_settled_feed_requires_the_bearer_token() -> None:
    with ReferenceServer(api_token="secret") as server:
        path = f"{server.url}/messages/settled?subject_id=s"
        assert httpx.get(path).status_code == 401
        authorized = httpx.get(path, headers={"Authorization": "Bearer secret"})
        assert authorized.status_code == 200
        assert authorized.json() == {"items": [], "next_cursor": "0", "has_more": False}


# -- outbox: at least once across NATS outages -----------------------------------------------


class TcpProxy:
    """Forwards loopback TCP connections to ``upstream_port``. :meth:`stop` drops every
    connection and refuses new ones, so NATS is down for whoever connects through it only."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()


async def rest_answer_while_down(api_url: str, session_id: str, message_id: str) -> None:
    """Answer through REST; it must not wait for the NATS that is down."""
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        started = time.monotonic()
        await answer(api, session_id, message_id)
        assert time.monotonic() - started < 1.5


async def last_stream_message(nc: NATS, subject: str, timeout: float = 10.0) -> Any:
    """The stream's last message on ``subject``, waiting for it to arrive."""
    js = nc.jetstream()
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(NotFoundError):
            return await js.get_last_msg("SESSION_RESPONSES", subject)
        assert time.monotonic() < deadline, f"nothing on {subject} in the stream"
        await asyncio.sleep(0.05)


async def test_answers_and_status_events_stored_while_nats_is_down_reach_the_stream() -> None:
    with LocalStack(human=SimulatedHuman(silent=True)) as stack:
        assert stack.server is not None and stack.nats_server is not None
        store = stack.server.store
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as api:
            await create_session(api, "ob-js", "ob-js")
            await create_session(api, "ob-js-rejected", "ob-js-status")
            message_id = await send_plain(api, "ob-js")
            stack.nats_server.kill()
            await rest_answer_while_down(stack.api_url, "ob-js", message_id)
            started = time.monotonic()
            assert (await api.post("/sessions/ob-js-rejected/reject")).status_code == 200
            assert time.monotonic() - started < 1.5
            assert store.outbox_size() == 2
            stack.nats_server.start()
        nc = await nats.connect(stack.nats_url)
        try:
            answer_msg = await last_stream_message(nc, "sessions.responses.ob-js.ob-js")
            status_msg = await last_stream_message(
                nc, "sessions.responses.ob-js-status.ob-js-rejected"
            )
        finally:
            await nc.close()
        assert answer_msg.headers is not None
        assert answer_msg.headers["Nats-Msg-Id"] == message_id
        assert json.loads(answer_msg.data)["message_id"] == message_id
        assert json.loads(status_msg.data)["status"] == "FAILED"
        deadline = time.monotonic() + 5
        while store.outbox_size():
            assert time.monotonic() < deadline, "the outbox was not emptied"
            await asyncio.sleep(0.02)


async def test_core_subscriber_gets_an_answer_stored_while_nats_was_down() -> None:
    with NatsServer() as nats_server:
        proxy = TcpProxy(nats_server.port)
        await proxy.start()
        server = ReferenceServer(
            nats_url=proxy.url, human=SimulatedHuman(silent=True), create_stream=False
        )
        await asyncio.to_thread(server.start)  # its NATS connection goes through this loop
        subscriber = await nats.connect(nats_server.url, reconnect_time_wait=0.05)
        try:
            sub = await subscriber.subscribe("sessions.responses.ob-core.ob-core")
            await subscriber.flush()
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
                await create_session(api, "ob-core", "ob-core")
                message_id = await send_plain(api, "ob-core")
            # NATS dies; only the reference server's path to it stays cut until the subscriber
            # is back, so the answer can only arrive by being published again.
            await proxy.stop()
            nats_server.kill()
            await rest_answer_while_down(server.url, "ob-core", message_id)
            assert server.store.outbox_size() == 1
            nats_server.start()

            async def resubscribed() -> bool:
                return subscriber.is_connected

            await eventually(resubscribed)
            await subscriber.flush(timeout=2)
            await proxy.start()
            msg = await sub.next_msg(timeout=10)
            assert json.loads(msg.data)["message_id"] == message_id
            assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == message_id

            async def emptied() -> bool:
                return server.store.outbox_size() == 0

            await eventually(emptied)
        finally:
            await subscriber.close()
            await asyncio.to_thread(server.stop)
            await proxy.stop()


@pytest.mark.parametrize("stream", [True, False], ids=["jetstream", "core"])
async def test_outbox_survives_a_server_restart_during_the_outage(
    tmp_path: Path, stream: bool
) -> None:
    db_path = str(tmp_path / "store.sqlite")
    subject = f"sessions.responses.ob-restart-{stream}.ob-restart"
    with NatsServer() as nats_server:
        first = ReferenceServer(
            nats_url=nats_server.url,
            human=SimulatedHuman(silent=True),
            db_path=db_path,
            create_stream=stream,
        ).start()
        try:
            async with httpx.AsyncClient(base_url=first.url, timeout=10) as api:
                await create_session(api, "ob-restart", f"ob-restart-{stream}")
                message_id = await send_plain(api, "ob-restart")
            nats_server.kill()
            await rest_answer_while_down(first.url, "ob-restart", message_id)
        finally:
            first.stop()  # with NATS still down: nothing could be published
        nats_server.start()
        nc = await nats.connect(nats_server.url)
        try:
            sub = await nc.subscribe(subject)
            await nc.flush()
            with ReferenceServer(nats_url=nats_server.url, db_path=db_path, create_stream=stream):
                if stream:
                    msg = await last_stream_message(nc, subject)
                else:
                    msg = await sub.next_msg(timeout=10)
            assert json.loads(msg.data)["message_id"] == message_id
        finally:
            await nc.close()


async def test_server_starts_and_publishes_without_jetstream() -> None:
    with (
        NatsServer(jetstream=False) as nats_server,
        ReferenceServer(nats_url=nats_server.url, human=SimulatedHuman({"ok": 1})) as server,
    ):
        nc = await nats.connect(nats_server.url)
        try:
            sub = await nc.subscribe("sessions.responses.ob-nojs.ob-nojs")
            await nc.flush()
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
                await create_session(api, "ob-nojs", "ob-nojs")
                message_id = await send_plain(api, "ob-nojs")
            msg = await sub.next_msg(timeout=10)
            assert json.loads(msg.data)["message_id"] == message_id
            assert json.loads(msg.data)["response"] == {"ok": 1}
        finally:
            await nc.close()


async def test_a_status_event_reaches_the_stream_on_every_subject_that_may_have_a_waiter(
    api: httpx.AsyncClient, stack: LocalStack, silent: SimulatedHuman
) -> None:
    # One stream covers every subject and deduplicates on Nats-Msg-Id: the subject must be
    # part of a status event's id, or the stream keeps it for the first subject only.
    await create_session(api, "st-many", "st-many.a")
    await send(api, "st-many", subject_id="st-many.b")
    await send(api, "st-many", subject_id="st-many.c")
    assert (await api.post("/sessions/st-many/reject")).status_code == 200
    nc = await nats.connect(stack.nats_url)
    try:
        for subject_id in ("st-many.a", "st-many.b", "st-many.c"):
            msg = await last_stream_message(nc, f"sessions.responses.{subject_id}.st-many")
            assert json.loads(msg.data)["status"] == "FAILED"
            assert msg.headers["Nats-Msg-Id"] == f"status:st-many:FAILED:{subject_id}"
    finally:
        await nc.close()
