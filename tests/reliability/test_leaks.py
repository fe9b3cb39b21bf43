"""Scenario 6: many waits with random outcomes (answered, timed out, cancelled, REST error)
leave nothing behind: no subscription, no task, no thread, and a bounded RSS."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from session_client import (
    AsyncSessionClient,
    NatsUnavailableError,
    NotFoundError,
    ResponseTimeoutError,
)
from session_client.testing import LocalStack

from ..lingering import subscription_ids, subscriptions_left
from .conftest import rss_mb, scale

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

OUTCOMES = ("answered", "timed_out", "cancelled", "rest_error")
RSS_BOUND_MB = 100


def human(message: dict[str, Any]) -> dict[str, Any] | None:
    """Answer the messages that ask for it; leave the others unanswered."""
    return {"echo": message["message"]} if message["message"].startswith("answer") else None


async def one_wait(client: AsyncSessionClient, rng: random.Random, i: int) -> tuple[str, bool]:
    """One wait with a random outcome; returns (intended outcome, whether it happened)."""
    outcome = rng.choice(OUTCOMES)
    session_id, subject_id = f"leak-{i % 50}", f"leak.{i % 10}"
    if outcome == "answered":
        text = f"answer {i}"
        answer = await client.send_and_wait_for_response(session_id, "c", text, subject_id, 30)
        return outcome, answer["response"] == {"echo": text}
    if outcome == "timed_out":
        try:
            await client.send_and_wait_for_response(
                session_id, "c", f"silent {i}", subject_id, rng.uniform(0.02, 0.2)
            )
        except (ResponseTimeoutError, NatsUnavailableError):
            # NatsUnavailableError: the timeout ran out before the subscription was confirmed
            # (a loaded machine), so nothing was sent: not a timed-out message (issue 26).
            return outcome, True
        return outcome, False
    if outcome == "cancelled":
        wait = asyncio.ensure_future(
            client.send_and_wait_for_response(session_id, "c", f"silent {i}", subject_id, 30)
        )
        await asyncio.sleep(rng.uniform(0, 0.05))
        wait.cancel()
        try:
            await wait
        except asyncio.CancelledError:
            return outcome, True
        return outcome, False
    try:  # rest_error: the REST check finds no such message
        await client.wait_for_response(session_id, subject_id, f"msg_missing_{i}", 30)
    except NotFoundError:
        return outcome, True
    return outcome, False


async def run_waits(client: AsyncSessionClient, count: int, seed: int) -> Counter[str]:
    """``count`` random waits, 50 at a time; counts outcomes that did / did not happen."""
    rng, semaphore, tally = random.Random(seed), asyncio.Semaphore(50), Counter[str]()

    async def bounded(i: int) -> None:
        async with semaphore:
            outcome, ok = await one_wait(client, rng, i)
        tally[outcome if ok else f"{outcome} (unexpected)"] += 1

    await asyncio.gather(*(bounded(i) for i in range(count)))
    return tally


async def test_waits_with_random_outcomes_leak_nothing(figures: Callable[..., None]) -> None:
    count = scale(1_000, 10_000)
    with LocalStack() as stack:
        stack.human.answer_using(human)
        async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as client:
            for i in range(50):
                await client.create_session(f"leak-{i}")
            await run_waits(client, 200, seed=1)  # warm-up: pools, caches, connection
            await asyncio.sleep(0.3)
            tasks_before = len(asyncio.all_tasks())
            threads_before = threading.active_count()
            rss_before = rss_mb()
            tally = await run_waits(client, count, seed=2)
            await asyncio.sleep(0.3)  # let unsubscribes and cancelled callbacks settle
            await subscriptions_left(client)  # and the linger of released subscriptions
            rss_growth = rss_mb() - rss_before
            tasks_after = len(asyncio.all_tasks())
            threads_after = threading.active_count()
            assert client.nats_connection is not None
            nats_subscriptions = len(subscription_ids(client))
            router_subscriptions = client.subscription_count
    unexpected = sum(n for outcome, n in tally.items() if "unexpected" in outcome)
    figures(
        "6. Leaks (random outcomes)",
        expected=count,
        delivered=count - unexpected,
        outcomes=dict(tally),
        subscriptions_left=nats_subscriptions + router_subscriptions,
        tasks_before=tasks_before,
        tasks_after=tasks_after,
        threads_before=threads_before,
        threads_after=threads_after,
        rss_growth_mb=round(rss_growth, 1),
    )
    assert unexpected == 0, tally
    assert set(tally) == set(OUTCOMES)
    assert nats_subscriptions == 0 and router_subscriptions == 0
    # A task of the warm-up may have ended meanwhile; a leak would leave more, never fewer.
    assert tasks_after <= tasks_before
    assert threads_after == threads_before
    assert rss_growth < RSS_BOUND_MB, f"RSS grew by {rss_growth:.0f} MiB"
