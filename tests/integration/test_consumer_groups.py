"""``responses(subject_id, group=...)``: answers as a work queue, against the real stack."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml

from session_client import Answered, AsyncSessionClient, SessionClient, SessionEnded
from session_client._wait._nats import open_subscriptions
from session_client.testing import LocalStack

from .conftest import unique

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def pull_subscriptions(client: AsyncSessionClient) -> int:
    """The client's JetStream pull subscriptions (inboxes without a wildcard: not nats-py's
    reply inbox for its own requests)."""
    nc = client.nats_connection
    held = [] if nc is None else open_subscriptions(nc).values()
    return sum(sub.subject.startswith("_INBOX.") and not sub.subject.endswith("*") for sub in held)


async def answered(client: AsyncSessionClient, subject_id: str, count: int) -> list[str]:
    """``count`` messages of a new session on ``subject_id``, answered by the stack's human."""
    session_id = unique(subject_id)
    await client.create_session(session_id, subject_id=subject_id)
    ids = [f"{session_id}-m{n}" for n in range(count)]
    for message_id in ids:
        await client.send_message(session_id, "ops", "Go?", message_id=message_id)
    return ids


async def test_the_stream_is_what_the_contract_says(stack: LocalStack) -> None:
    contract = yaml.safe_load((ROOT / "asyncapi.yaml").read_text())["x-jetstream-stream"]
    nc = await nats.connect(stack.nats_url)
    try:
        config = (await nc.jetstream().stream_info(contract["name"])).config
    finally:
        await nc.close()
    assert config.subjects == contract["subjects"]
    assert config.max_age == contract["max_age_seconds"]
    assert config.retention == contract["retention"]


async def test_members_share_the_work_and_each_answer_goes_to_one(
    stack: LocalStack, aclient: AsyncSessionClient
) -> None:
    subject_id, group = unique("shared"), unique("g")
    ids = await answered(aclient, subject_id, 20)
    seen: list[list[str]] = [[], []]

    async def member(index: int, client: AsyncSessionClient) -> None:
        async with client.responses(subject_id, group=group, max_in_flight=2) as items:
            async for item in items:
                assert isinstance(item, Answered)
                seen[index].append(item.message_id)
                await asyncio.sleep(0.01)  # the handler's I/O: the other member takes a turn
                if sum(map(len, seen)) == len(ids):
                    await client.aclose()  # the loop ends cleanly

    async with (
        AsyncSessionClient(stack.api_url, [stack.nats_url]) as one,
        AsyncSessionClient(stack.api_url, [stack.nats_url]) as two,
    ):
        async with asyncio.timeout(30):
            await asyncio.gather(member(0, one), member(1, two), return_exceptions=False)
    assert sorted(seen[0] + seen[1]) == sorted(ids)  # each once
    assert seen[0] and seen[1]


async def test_an_item_whose_handler_raised_is_redelivered_after_ack_wait(
    stack: LocalStack, aclient: AsyncSessionClient
) -> None:
    subject_id, group = unique("raised"), unique("g")
    (message_id,) = await answered(aclient, subject_id, 1)
    with pytest.raises(RuntimeError):
        async with aclient.responses(subject_id, group=group, ack_wait=1) as items:
            async for _ in items:
                raise RuntimeError("the handler failed")
    started = time.monotonic()
    async with asyncio.timeout(15), aclient.responses(subject_id, group=group, ack_wait=1) as again:
        item = await anext(again)
    assert isinstance(item, Answered)
    assert (item.message_id, item.deliveries) == (message_id, 2)
    assert time.monotonic() - started > 0.5  # after ack_wait, not at once


async def test_a_member_holds_at_most_max_in_flight(
    stack: LocalStack, aclient: AsyncSessionClient
) -> None:
    subject_id, group = unique("bounded"), unique("g")
    await answered(aclient, subject_id, 10)
    async with (
        asyncio.timeout(15),
        aclient.responses(subject_id, group=group, max_in_flight=3) as items,
    ):
        await anext(items)
        nc = aclient.nats_connection
        info = await nc.jetstream().consumer_info("SESSION_RESPONSES", group)
    assert info.num_ack_pending == 3
    assert info.num_pending == 7


async def test_session_ends_are_confirmed_items_of_their_own(
    stack: LocalStack, aclient: AsyncSessionClient
) -> None:
    subject_id, group = unique("ended"), unique("g")
    stack.human.stay_silent_next()
    session_id = unique("s")
    await aclient.create_session(session_id, subject_id=subject_id)
    await aclient.send_message(session_id, "ops", "Go?", message_id=f"{session_id}-m")
    await aclient.reject_session(session_id)
    async with asyncio.timeout(15), aclient.responses(subject_id, group=group) as items:
        item = await anext(items)
    assert item == SessionEnded(session_id, "FAILED")
    assert item.key == f"status:{session_id}:FAILED"


async def test_closing_the_client_or_breaking_the_loop_ends_it_cleanly(
    stack: LocalStack,
) -> None:
    subject_id, group = unique("closing"), unique("g")
    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as client:
        ids = await answered(client, subject_id, 2)
        async for item in client.responses(subject_id, group=group, ack_wait=1):
            assert isinstance(item, Answered)
            break  # outside async with: left for redelivery, the subscription ends
        deadline = time.monotonic() + 5
        while pull_subscriptions(client) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        assert pull_subscriptions(client) == 0

        handled = []
        async with asyncio.timeout(15):
            async for item in client.responses(subject_id, group=group, ack_wait=1):
                handled.append(item)
                if len(handled) == len(ids):
                    await client.aclose()  # the loop asks for the next item: it ends
    assert {item.key for item in handled} == set(ids)  # the first again, redelivered


async def test_a_loop_waiting_for_items_ends_at_once_when_another_task_closes_it(
    stack: LocalStack,
) -> None:
    # The loop waits in a fetch (FETCH_WAIT, 2 s); closing from another task ends it at
    # once, and leaves its task with no cancellation pending. The caller's own cancellation
    # still propagates.
    subject_id = unique("idle")
    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as client:

        async def consume() -> tuple[list[Any], int]:
            items = [item async for item in client.responses(subject_id, group=unique("g"))]
            task = asyncio.current_task()
            assert task is not None
            await asyncio.sleep(0)  # a cancellation left pending would surface here
            return items, task.cancelling()

        looping = asyncio.create_task(consume())
        await asyncio.sleep(0.5)  # joined, and waiting in a fetch
        started = time.monotonic()
        await client.aclose()
        assert await asyncio.wait_for(looping, 5) == ([], 0)
        assert time.monotonic() - started < 1.0

    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as client:
        looping = asyncio.create_task(consume())
        await asyncio.sleep(0.5)
        looping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await looping


def test_the_blocking_client_iterates_and_close_ends_it(stack: LocalStack) -> None:
    subject_id, group = unique("sync"), unique("g")
    with SessionClient(stack.api_url, [stack.nats_url]) as client:
        session_id = unique("s")
        client.create_session(session_id, subject_id=subject_id)
        client.send_message(session_id, "ops", "Go?", message_id=f"{session_id}-m")
        with client.responses(subject_id, group=group) as items:
            first = next(items)
        assert isinstance(first, Answered) and first.message_id == f"{session_id}-m"
        threading.Timer(0.3, client.close).start()
        started = time.monotonic()
        assert list(client.responses(subject_id, group=group)) == []  # acked: nothing left
        assert time.monotonic() - started < 10


async def test_a_group_consumes_one_subject(stack: LocalStack, aclient: AsyncSessionClient) -> None:
    group = unique("g")
    await answered(aclient, "one-subject", 1)
    async with asyncio.timeout(15), aclient.responses("one-subject", group=group) as items:
        await anext(items)
    with pytest.raises(ValueError, match="already consumes"):
        await anext(aclient.responses("another-subject", group=group))


def _consume(stack: LocalStack, subject_id: str, group: str, count: int) -> list[dict[str, Any]]:
    """``session-client consume`` until ``count`` answers: its JSON lines."""
    env = {**os.environ, "ORG_API_URL": stack.api_url, "ORG_NATS_URL": stack.nats_url}
    result = subprocess.run(
        [sys.executable, "-m", "session_client", "consume", subject_id, "--group", group,
         "--count", str(count)],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return [json.loads(line) for line in result.stdout.splitlines()]


async def test_an_answer_given_while_every_worker_was_down_is_handled_after_one_starts(
    stack: LocalStack, aclient: AsyncSessionClient
) -> None:
    subject_id, group = unique("down"), unique("g")
    session_id = unique("s")
    await aclient.create_session(session_id, subject_id=subject_id)
    await aclient.send_message(session_id, "ops", "First?", message_id=f"{session_id}-1")
    # A worker process handles the first answer and exits: the group exists, nobody runs.
    (first,) = await asyncio.to_thread(_consume, stack, subject_id, group, 1)
    assert first["message_id"] == f"{session_id}-1"
    await aclient.send_message(session_id, "ops", "Second?", message_id=f"{session_id}-2")
    await aclient.wait_for_response(session_id, subject_id, f"{session_id}-2", timeout=15)
    # Answered while every worker was down: the next worker to start handles it, only it.
    (second,) = await asyncio.to_thread(_consume, stack, subject_id, group, 1)
    assert second["message_id"] == f"{session_id}-2"
    assert second["response"] == {"approved": True}
