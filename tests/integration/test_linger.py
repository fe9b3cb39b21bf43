"""Released session subscriptions linger briefly (``session_client._wait._linger``), against a
real nats-server and the reference server. The linger is made long here, so that a busy machine
cannot end it mid-test; the suite's leak checks (``tests/lingering.py``) see it end."""

from __future__ import annotations

import asyncio
import time

import pytest

from session_client import AsyncSessionClient
from session_client._wait import _waiter
from session_client.testing import LocalStack, SimulatedHuman

from ..lingering import nats_subscriptions, subscription_ids
from .conftest import unique


@pytest.fixture(autouse=True)
def long_linger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_waiter, "LINGER_SECONDS", 30.0)


async def test_back_to_back_waits_on_a_session_take_its_subscription_back(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.answer_using(lambda message: {"echo": message["message"]})
    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as client:
        sid = unique("linger")
        await client.create_session(sid)
        await client.send_and_wait_for_response(sid, "c", "warm", "subj.linger", timeout=10)
        # That answer showed the server publishes per session: the subject-wide subscription
        # ends; the session's lingers.
        deadline = time.monotonic() + 5
        while nats_subscriptions(client) > 1 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        kept = subscription_ids(client)
        assert len(kept) == 1 and client.subscription_count == 1
        for n in range(5):
            answer = await client.send_and_wait_for_response(
                sid, "c", f"more {n}", "subj.linger", timeout=10
            )
            assert answer["response"] == {"echo": f"more {n}"}
            assert subscription_ids(client) == kept  # no new SUB, no PING, no UNSUB


async def test_lingering_subscriptions_are_bounded_in_count(
    stack: LocalStack, human: SimulatedHuman, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_waiter, "LINGER_LIMIT", 3)
    human.answer_with({"ok": True})
    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as client:
        for n in range(8):
            sid = unique(f"bounded{n}")
            await client.create_session(sid)
            await client.send_and_wait_for_response(sid, "c", "m", "subj.bounded", timeout=10)
        # The oldest ended as the fourth was parked; the last three linger.
        assert client.subscription_count == 3 and nats_subscriptions(client) == 3
