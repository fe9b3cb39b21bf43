"""After a reconnect, a consumer member acknowledges its latest items again: a stopping
nats-server shuts JetStream down before it closes the connections and drops the
acknowledgements that come in between. Only what the member acknowledged, once, within
``ack_wait``, and only to the consumer it joined. The real restart is in
``tests/reliability/test_consumer_fleet.py``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from session_client._telemetry import Telemetry
from session_client._wait import _consumer
from session_client._wait._consumer import Member

from .. import payloads
from .consumer_fakes import Link


class Message:
    def __init__(self, n: int) -> None:
        self.data = json.dumps(payloads.answer(ok=True)).encode()
        self.headers = None
        self.reply = f"$JS.ACK.SESSION_RESPONSES.g.1.{n}.{n}.1733480000000000000.0"
        self.subject = "sessions.responses.refunds.s1"

    async def ack(self) -> None:
        pass


class Pull:
    """One batch of ``count`` messages, then nothing. ``same_consumer`` answers ``same`` in
    turn (the last one from then on)."""

    def __init__(self, count: int, same: list[bool | None]) -> None:
        self.messages = [Message(n) for n in range(1, count + 1)]
        self.batches = [self.messages]
        self.same = same
        self.asked = asyncio.Event()
        self.asks, self.asked_again = 0, asyncio.Event()
        self.acknowledged: list[str] = []
        self.all_acknowledged = asyncio.Event()

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        if self.batches:
            return self.batches.pop(0)
        await asyncio.sleep(60)
        return []

    async def same_consumer(self) -> bool | None:
        self.asks += 1
        if self.asks == 2:
            self.asked_again.set()
        answer = self.same.pop(0) if len(self.same) > 1 else self.same[0]
        if answer is not None:
            self.asked.set()
        return answer

    async def acknowledge(self, reply: str) -> None:
        self.acknowledged.append(reply)
        self.all_acknowledged.set()

    async def close(self) -> None:
        pass


async def handled(count: int, same: list[bool | None], ack_wait: float = 30) -> tuple[Member, Link]:
    """A member that handled ``count`` items: all acknowledged but the last (the current)."""
    link = Link(Pull(count, same))
    member = Member(
        link,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        Telemetry(),
        "sessions.responses.refunds.*",
        "g",
        ack_wait=ack_wait,
        max_in_flight=count,
    )
    await member.open()
    for _ in range(count):
        assert await member.next() is not None
    return member, link


async def test_a_reconnect_acknowledges_what_was_acknowledged_again_once() -> None:
    member, link = await handled(3, [True])
    link.reconnect()
    await asyncio.wait_for(link.pull.all_acknowledged.wait(), 5)
    # The third is the current item, not acknowledged yet: it is not acknowledged now either.
    assert link.pull.acknowledged == [m.reply for m in link.pull.messages[:2]]
    link.pull.asked.clear()
    link.reconnect()  # each is sent again once: nothing is left to send
    await asyncio.sleep(0)  # a resend would be done by now: the fakes never wait
    assert not link.pull.asked.is_set()
    await member.close(ack_current=False)


async def test_acknowledgements_older_than_ack_wait_are_not_sent_again() -> None:
    member, link = await handled(3, [True], ack_wait=0.05)
    await asyncio.sleep(0.06)  # past ack_wait: redelivered already, if the ack was lost
    link.reconnect()
    await asyncio.sleep(0)  # a resend would be done by now: the fakes never wait
    assert not link.pull.asked.is_set()  # nothing to send: the consumer is not even asked
    assert link.pull.acknowledged == []
    await member.close(ack_current=False)


async def test_nothing_is_acknowledged_to_a_consumer_made_again_under_the_groups_name() -> None:
    member, link = await handled(3, [False])
    link.reconnect()
    await asyncio.wait_for(link.pull.asked.wait(), 5)
    assert link.pull.acknowledged == []
    await member.close(ack_current=False)


async def test_while_jetstream_starts_the_member_asks_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_consumer, "RESEND_RETRY", 0.001)
    member, link = await handled(3, [None, None, True])
    link.reconnect()
    await asyncio.wait_for(link.pull.all_acknowledged.wait(), 5)
    assert len(link.pull.acknowledged) == 2
    await member.close(ack_current=False)


async def test_a_closed_member_no_longer_listens_for_reconnects() -> None:
    member, link = await handled(3, [True])
    assert link.reconnect_hooks
    await member.close(ack_current=True)
    assert not link.reconnect_hooks


async def test_closing_the_member_ends_a_resend_still_waiting_for_jetstream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_consumer, "RESEND_RETRY", 0.001)
    member, link = await handled(3, [None])  # JetStream never answers
    link.reconnect()
    await asyncio.wait_for(link.pull.asked_again.wait(), 5)
    await member.close(ack_current=False)
    await asyncio.sleep(0)  # a cancelled task is done after one more turn
    assert asyncio.all_tasks() == {asyncio.current_task()}
