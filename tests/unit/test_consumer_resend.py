"""After a reconnect, a consumer member acknowledges its latest items again: a stopping
nats-server shuts JetStream down before it closes the connections and drops the
acknowledgements that come in between. Only what the member acknowledged, once, within
``ack_wait``, and only to the consumer it joined. The real restart is in
``tests/reliability/test_consumer_fleet.py``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from session_client._telemetry import Telemetry
from session_client._wait import _consumer
from session_client._wait._consumer import Member

from .consumer_fakes import Link, Message


class Pull:
    """One batch of ``count`` messages, then nothing. Whether the consumer is the same after a
    reconnect: ``same`` in turn (the last one from then on; None: no answer yet)."""

    def __init__(self, count: int, same: list[bool | None]) -> None:
        self.messages = [Message(n) for n in range(1, count + 1)]
        self.batches = [self.messages]
        self.same = same
        self.asked = asyncio.Event()
        self.asks, self.asked_again = 0, asyncio.Event()
        self.acknowledged: list[str] = []
        self.all_acknowledged = asyncio.Event()
        #: A later batch, fetched once ``release`` is set (while a member waits in a fetch).
        self.later = [Message(n) for n in range(count + 1, count + 3)]
        self.fetching, self.release = asyncio.Event(), asyncio.Event()
        self.fails = False

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        if self.batches:
            return self.batches.pop(0)
        self.fetching.set()
        await self.release.wait()
        self.release.clear()
        later, self.later = self.later, []
        if not later:
            await asyncio.sleep(60)
        return later

    async def rejoined(self) -> bool | None:
        if self.fails:
            raise RuntimeError("an unexpected failure")
        self.asks += 1
        if self.asks == 2:
            self.asked_again.set()
        same = self.same.pop(0) if len(self.same) > 1 else self.same[0]
        if same is not None:
            self.asked.set()
        return None if same is None else not same

    async def acknowledge(self, reply: str) -> None:
        self.acknowledged.append(reply)
        self.all_acknowledged.set()

    async def close(self) -> None:
        pass


async def handled(
    count: int, same: list[bool | None], ack_wait: float = 30, fetched: int | None = None
) -> tuple[Member, Link]:
    """A member that fetched ``fetched`` items (default ``count``) and handled ``count``: all
    acknowledged but the last (the current)."""
    link = Link(Pull(fetched or count, same))
    member = Member(
        link,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        Telemetry(),
        "sessions.responses.refunds.*",
        "g",
        ack_wait=ack_wait,
        max_in_flight=fetched or count,
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
    await asyncio.wait_for(link.pull.asked.wait(), 5)  # asked: it holds the third
    await asyncio.sleep(0)  # a resend would be done by now: the fakes never wait
    assert len(link.pull.acknowledged) == 2
    await member.close(ack_current=False)


async def test_acknowledgements_older_than_ack_wait_are_not_sent_again() -> None:
    member, link = await handled(3, [True], ack_wait=0.05)
    await asyncio.sleep(0.06)  # past ack_wait: redelivered already, if the ack was lost
    link.reconnect()
    await asyncio.wait_for(link.pull.asked.wait(), 5)  # asked: it holds the third
    await asyncio.sleep(0)  # a resend would be done by now: the fakes never wait
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


async def test_a_member_whose_consumer_was_made_again_lets_go_of_what_it_holds() -> None:
    # The server lost its store and the consumer was made again: the stream sequences of the
    # items held name other messages, which an ack or a nak would take from their member.
    member, link = await handled(3, [False])
    link.reconnect()
    await asyncio.wait_for(link.pull.asked.wait(), 5)
    await member.close(ack_current=True)
    assert link.pull.acknowledged == []
    assert [m.outcome for m in link.pull.messages] == ["ack", "ack", ""]


async def test_closing_before_the_consumer_is_known_acknowledges_nothing_more() -> None:
    member, link = await handled(1, [None], fetched=4)  # JetStream never answers
    link.reconnect()  # the first in hand, three queued
    await member.close(ack_current=True)
    assert [m.outcome for m in link.pull.messages] == ["", "", "", ""]


async def test_the_next_item_waits_for_the_check_before_acknowledging_the_current_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_consumer, "RESEND_RETRY", 0.001)
    member, link = await handled(3, [None, None, False])  # made again, known at the third ask
    link.reconnect()
    asking = asyncio.create_task(member.next())  # the handler is done with the third
    await asyncio.wait_for(link.pull.asked.wait(), 5)
    await asyncio.sleep(0)  # the member has moved on to fetching
    assert link.pull.messages[2].outcome == ""
    await member.close(ack_current=True)
    assert await asyncio.wait_for(asking, 5) is None


async def test_a_consumer_jetstream_cannot_tell_about_within_ack_wait_counts_as_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_consumer, "RESEND_RETRY", 0.001)
    member, link = await handled(3, [None], ack_wait=0.05)  # never answers
    link.reconnect()
    await asyncio.wait_for(link.pull.asked_again.wait(), 5)
    await asyncio.sleep(0.1)  # past ack_wait: the check gives up
    await member.close(ack_current=True)
    assert link.pull.acknowledged == []
    assert link.pull.messages[2].outcome == ""


async def across_a_reconnect(
    same: list[bool | None], *, answered: bool = True
) -> tuple[Member, list[Message], asyncio.Task[Any]]:
    """A member whose fetch was waiting as NATS reconnected, once the check answered (or asked
    twice in vain): the fetch then brings two items, which may have come before the reconnect.
    Also the task of the ``next()`` that waits in that fetch."""
    member, link = await handled(2, same)
    pull, later = link.pull, link.pull.later
    asking = asyncio.create_task(member.next())  # the second acknowledged, then a fetch
    await asyncio.wait_for(pull.fetching.wait(), 5)
    link.reconnect()
    await asyncio.wait_for((pull.asked if answered else pull.asked_again).wait(), 5)
    pull.release.set()
    return member, later, asking


async def test_a_fetch_across_a_reconnect_is_let_go_of_if_the_consumer_changed() -> None:
    member, later, asking = await across_a_reconnect([False])
    await asyncio.sleep(0)  # the fetch returned: what it brought is not held
    await member.close(ack_current=True)
    assert await asyncio.wait_for(asking, 5) is None
    assert [m.outcome for m in later] == ["", ""]  # neither acknowledged nor given back


async def test_what_a_fetch_brings_across_a_reconnect_is_kept_if_the_consumer_is_the_same() -> None:
    member, later, asking = await across_a_reconnect([True])
    assert await asyncio.wait_for(asking, 5) is not None  # the third
    assert await asyncio.wait_for(member.next(), 5) is not None  # the third acknowledged
    assert [m.outcome for m in later] == ["ack", ""]
    await member.close(ack_current=False)


async def test_what_a_fetch_brings_while_the_check_runs_waits_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_consumer, "RESEND_RETRY", 0.001)
    member, later, asking = await across_a_reconnect([None], answered=False)
    assert await asyncio.wait_for(asking, 5) is not None  # the third, a suspect
    finishing = asyncio.create_task(member.next())
    await asyncio.sleep(0.01)  # the check still runs: the third is not acknowledged
    assert later[0].outcome == ""
    await member.close(ack_current=True)
    assert await asyncio.wait_for(finishing, 5) is None
    assert [m.outcome for m in later] == ["", ""]


async def test_a_check_that_fails_counts_as_another_consumer() -> None:
    member, link = await handled(3, [True])
    link.pull.fails = True
    link.reconnect()
    await asyncio.sleep(0)  # the check is over: the fakes never wait
    await member.close(ack_current=True)
    assert link.pull.acknowledged == []
    assert link.pull.messages[2].outcome == ""
