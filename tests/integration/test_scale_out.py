"""Many processes waiting on one subject (issue 18), against a real nats-server and the real
reference server: NATS delivers each answer only to the process waiting for its session, and
a client still works with a server that publishes subject-wide, as contract 1.0.0 did."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.subscription import Subscription

from session_client import AsyncSessionClient
from session_client._wait import _waiter
from session_client.subjects import response_subject
from session_client.testing import LocalStack, ReferenceServer, SimulatedHuman
from session_client.testing.nats_server import NatsServer

from ..lingering import subscriptions_left
from .conftest import unique

pytestmark = pytest.mark.integration


def delivered(client: AsyncSessionClient) -> int:
    """Messages NATS delivered to the client's connection."""
    connection = client.nats_connection
    assert connection is not None
    return int(connection.stats["in_msgs"])


async def test_a_process_waiting_on_one_session_receives_no_other_sessions_answers() -> None:
    subject_id, others = unique("shared"), 20
    with LocalStack(human=SimulatedHuman(silent=True)) as stack:
        lone = unique("lone")
        busy = [unique("busy") for _ in range(others)]
        watcher = await nats.connect(stack.nats_url)  # wants every answer of the subject
        seen = await watcher.subscribe(f"sessions.responses.{subject_id}.*")
        async with (
            AsyncSessionClient(stack.api_url, [stack.nats_url]) as waiting,
            AsyncSessionClient(stack.api_url, [stack.nats_url]) as neighbour,
            httpx.AsyncClient(base_url=stack.api_url) as api,
        ):
            for session_id in (lone, *busy):
                await waiting.create_session(session_id, subject_id=subject_id)
            lone_wait = asyncio.create_task(
                waiting.send_and_wait_for_response(lone, "c", "mine", subject_id, timeout=30)
            )
            busy_waits = [
                asyncio.create_task(
                    neighbour.send_and_wait_for_response(sid, "c", sid, subject_id, timeout=30)
                )
                for sid in busy
            ]
            sent = await asyncio.to_thread(stack.human.wait_for_messages, others + 1, 10)
            by_session = {message["session_id"]: message["message_id"] for message in sent}

            async def answer(session_id: str) -> None:
                path = f"/sessions/{session_id}/messages/{by_session[session_id]}/response"
                response = await api.post(path, json={"response": {"for": session_id}})
                response.raise_for_status()

            # Every other session is answered while the lone wait is pending, on its subject.
            await asyncio.gather(*(answer(sid) for sid in busy))
            assert [(await w)["response"] for w in busy_waits] == [{"for": s} for s in busy]
            assert not lone_wait.done()
            await answer(lone)
            assert (await lone_wait)["response"] == {"for": lone}
            assert delivered(waiting) == 1  # its own answer, nothing of the 20 others
            assert delivered(neighbour) == others
        everything = [await seen.next_msg(timeout=5) for _ in range(others + 1)]
        assert len(everything) == others + 1  # the subject-wide subscription got them all
        await watcher.close()


async def test_a_waiting_client_survives_its_server_moving_to_session_subjects(
    tmp_path: Path,
) -> None:
    db_path = str(tmp_path / "store.sqlite")
    human = SimulatedHuman({"ok": 1})
    with NatsServer() as nats_server:
        old = ReferenceServer(
            nats_url=nats_server.url, human=human, db_path=db_path, per_session_subjects=False
        ).start()
        port = old.port
        async with AsyncSessionClient(old.url, [nats_server.url]) as client:
            try:
                await client.create_session("upgrade", subject_id="upgrade")
                # A server of contract 1.0.0 publishes subject-wide: still answered at once,
                # not by the REST safety net a minute later.
                first = await client.send_and_wait_for_response(
                    "upgrade", "c", "before", "upgrade", timeout=5
                )
            finally:
                old.stop()
            with ReferenceServer(nats_url=nats_server.url, human=human, db_path=db_path, port=port):
                second = await client.send_and_wait_for_response(
                    "upgrade", "c", "after", "upgrade", timeout=5
                )
                # That answer came on the session subject: subject-wide subscriptions are over
                # (and, once its linger is over, the answered session's too).
                assert await subscriptions_left(client) == 0
                human.stay_silent()
                pending = asyncio.create_task(
                    client.send_and_wait_for_response("upgrade", "c", "m", "elsewhere", timeout=5)
                )
                await asyncio.to_thread(human.wait_for_messages, 3, 5)
                assert client.subscription_count == 1
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
    assert first["response"] == second["response"] == {"ok": 1}


@contextlib.asynccontextmanager
async def releasing_slowly(
    monkeypatch: pytest.MonkeyPatch, human: SimulatedHuman
) -> AsyncIterator[tuple[AsyncSessionClient, asyncio.Event]]:
    """A client of a contract 1.0.0 server (answers subject-wide) whose release of a wait ends
    its session subscription at once (no linger), in an UNSUB taking 0.3 s; the event is set
    as the first UNSUB begins."""
    monkeypatch.setattr(_waiter, "LINGER_LIMIT", 0)
    with (
        NatsServer() as nats_server,
        ReferenceServer(nats_url=nats_server.url, human=human, per_session_subjects=False) as api,
    ):
        async with AsyncSessionClient(api.url, [nats_server.url]) as client:
            link = client._waiter._link
            unsubscribe, unsubscribing = link.unsubscribe, asyncio.Event()

            async def slow_unsubscribe(subscription: Subscription) -> None:
                unsubscribing.set()
                await asyncio.sleep(0.3)
                await unsubscribe(subscription)

            monkeypatch.setattr(link, "unsubscribe", slow_unsubscribe)
            yield client, unsubscribing


async def test_a_wait_begun_while_the_last_on_its_subject_ends_keeps_a_subject_wide_listener(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The subject-wide subscription ending with a subject's last wait is not the one a wait
    registered meanwhile (during that release's UNSUB) listens on: its answer still arrives
    over NATS, at once."""
    human = SimulatedHuman({"ok": 1}, delay=1.0)
    async with releasing_slowly(monkeypatch, human) as (client, unsubscribing):
        subject, ended, begun = unique("handover"), unique("ended"), unique("begun")
        for sid in (ended, begun):
            await client.create_session(sid)
        first = asyncio.create_task(
            client.send_and_wait_for_response(ended, "c", "a", subject, timeout=5)
        )
        await asyncio.wait_for(unsubscribing.wait(), 5)
        # The answer comes a second after the release's UNSUB, by the subject-wide form.
        second = await client.send_and_wait_for_response(begun, "c", "b", subject, timeout=5)
        assert (await first)["response"] == second["response"] == {"ok": 1}


async def test_a_wait_cancelled_in_its_release_leaves_no_subscription_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelled (its deadline, or a caller) while its release ends its subscriptions, a wait
    still ends every one: its session's and the subject-wide one."""
    async with releasing_slowly(monkeypatch, SimulatedHuman({"ok": 1})) as (client, unsubscribing):
        sid = unique("cancelled")
        await client.create_session(sid)
        wait = asyncio.create_task(
            client.send_and_wait_for_response(sid, "c", "a", unique("cancelled"), timeout=5)
        )
        await asyncio.wait_for(unsubscribing.wait(), 5)
        wait.cancel()
        await asyncio.gather(wait, return_exceptions=True)
        assert await subscriptions_left(client) == 0


async def test_a_subject_wide_subscription_made_as_they_all_end_is_unsubscribed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first answer on a session subject ends the subject-wide subscriptions; one still
    being made then is ended by its maker alone, once, even when it is made before the others
    have ended."""
    # A second: the late wait reaches its subject-wide SUB before the first answer, by far.
    human = SimulatedHuman({"ok": 1}, delay=1.0)
    with (
        NatsServer() as nats_server,
        ReferenceServer(nats_url=nats_server.url, human=human) as api,
    ):
        async with AsyncSessionClient(api.url, [nats_server.url]) as client:
            link = client._waiter._link
            subscribe, unsubscribe = link.subscribe, link.unsubscribe
            first, made_late = unique("first"), unique("late")
            first_subject_wide = response_subject(client.subject_template, first)
            late_subject_wide = response_subject(client.subject_template, made_late)
            ended: list[Subscription] = []  # kept: each id stays one subscription's
            first_made, ending = asyncio.Event(), asyncio.Event()
            late_ended, first_ended = asyncio.Event(), asyncio.Event()

            async def subscribe_late(subject: str, on_message: Any) -> Subscription:
                if subject == late_subject_wide:  # made while the first one is ended
                    await asyncio.wait_for(ending.wait(), 5)
                subscription = await subscribe(subject, on_message)
                if subject == first_subject_wide:
                    first_made.set()
                return subscription

            async def unsubscribe_first_last(subscription: Subscription) -> None:
                ended.append(subscription)
                if subscription.subject == first_subject_wide:
                    ending.set()  # the late one is made now, and ended by its maker
                    await asyncio.wait_for(late_ended.wait(), 5)
                await unsubscribe(subscription)
                if subscription.subject == late_subject_wide:
                    late_ended.set()
                elif subscription.subject == first_subject_wide:
                    first_ended.set()  # what ends with it has been asked to end by now

            monkeypatch.setattr(link, "subscribe", subscribe_late)
            monkeypatch.setattr(link, "unsubscribe", unsubscribe_first_last)
            for sid in (first, made_late):
                await client.create_session(sid)
            answered = asyncio.create_task(
                client.send_and_wait_for_response(first, "c", "a", first, timeout=5)
            )
            await asyncio.wait_for(first_made.wait(), 5)  # its answer comes a second after
            late = await client.send_and_wait_for_response(
                made_late, "c", "b", made_late, timeout=5
            )
            assert (await answered)["response"] == late["response"] == {"ok": 1}
            await asyncio.wait_for(first_ended.wait(), 5)
            subjects = [subscription.subject for subscription in ended]
            assert subjects.count(late_subject_wide) == 1
            assert len({id(subscription) for subscription in ended}) == len(ended)
