"""Released session subscriptions linger briefly (``session_client._wait._linger``), against a
real nats-server and the reference server."""

from __future__ import annotations

import pytest

from session_client import AsyncSessionClient
from session_client._wait import _waiter
from session_client.testing import LocalStack, SimulatedHuman

from ..lingering import nats_subscriptions, subscriptions_left
from .conftest import unique


def subscription_ids(client: AsyncSessionClient) -> set[int]:
    """The ids of the subscriptions on the client's NATS connection (nats-py's ``_subs``)."""
    assert client.nats_connection is not None
    return set(client.nats_connection._subs)


async def test_back_to_back_waits_on_a_session_take_its_subscription_back(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.answer_using(lambda message: {"echo": message["message"]})
    sid = unique("linger")
    await aclient.create_session(sid)
    # The first answer shows the server publishes per session: subject-wide ones end.
    await aclient.send_and_wait_for_response(sid, "c", "warm", "subj.linger", timeout=10)
    await subscriptions_left(aclient)
    first = await aclient.send_and_wait_for_response(sid, "c", "one", "subj.linger", timeout=10)
    kept = subscription_ids(aclient)
    assert len(kept) == 1  # lingering, not yet ended
    for n in range(5):
        answer = await aclient.send_and_wait_for_response(
            sid, "c", f"more {n}", "subj.linger", timeout=10
        )
        assert answer["response"] == {"echo": f"more {n}"}
        assert subscription_ids(aclient) == kept  # no new SUB, no PING, no UNSUB
    assert first["response"] == {"echo": "one"}
    assert await subscriptions_left(aclient) == 0


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
        assert await subscriptions_left(client) == 0
