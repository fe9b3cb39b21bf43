"""A consumer loop waiting in a fetch: who cancelled it decides how it ends. Edge cases of
nats-py's fetch (a cancellation it drops, as Python 3.11's ``wait_for`` can) are faked here; the
real stack's side is in ``tests/integration/test_consumer_groups.py``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from session_client._telemetry import Telemetry
from session_client._wait._consumer import Member

from .consumer_fakes import Link, Message


class Pull:
    """A fetch that waits until cancelled; ``drops`` the cancellation and returns a message
    that came in the same loop turn (Python 3.11's ``wait_for``), or lets it through."""

    def __init__(self, drops: bool) -> None:
        self.drops = drops
        self.waiting = asyncio.Event()
        self.message = Message()

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        self.waiting.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            if self.drops:
                return [self.message]
            raise
        return []

    async def close(self) -> None:
        pass


async def waiting_member(drops: bool) -> tuple[Member, Pull, asyncio.Task[Any]]:
    pull = Pull(drops)
    member = Member(
        Link(pull),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        Telemetry(),
        "sessions.responses.refunds.*",
        "g",
        ack_wait=30,
        max_in_flight=4,
    )
    await member.open()

    async def loop() -> tuple[Any, int]:
        item = await member.next()
        task = asyncio.current_task()
        assert task is not None
        return item, task.cancelling()

    looping = asyncio.create_task(loop())
    await asyncio.wait_for(pull.waiting.wait(), 5)
    return member, pull, looping


@pytest.mark.parametrize("drops", [False, True], ids=["raised", "dropped-by-the-fetch"])
async def test_the_callers_cancellation_ends_the_loop_even_if_the_fetch_drops_it(
    drops: bool,
) -> None:
    member, pull, looping = await waiting_member(drops)
    looping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await looping
    await member.close(ack_current=False)
    # What the fetch returned is given back at once, not held until ack_wait.
    assert pull.message.outcome == ("nak" if drops else "")


@pytest.mark.parametrize("drops", [False, True], ids=["raised", "dropped-by-the-fetch"])
async def test_closing_from_another_task_ends_the_loop_with_no_cancellation_left(
    drops: bool,
) -> None:
    member, pull, looping = await waiting_member(drops)
    await member.close(ack_current=True)
    assert await asyncio.wait_for(looping, 5) == (None, 0)
    assert pull.message.outcome == ("nak" if drops else "")
