"""Scenario 13: a misconfigured NATS (an unresolvable host, a port that never greets, a wrong
token) fails every wait fast with ``NatsUnavailableError``, before anything is sent, never as a
``ResponseTimeoutError`` after the whole wait (issue 26, item 1)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable

import pytest

from session_client import AsyncSessionClient, NotFoundError
from session_client.testing import LocalStack

from ..misconfigured_nats import MISCONFIGURED, Misconfigured
from .conftest import scale

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

TIMEOUT = 20
# Before (issue 26): each misconfiguration held a timeout=20 wait for 20.1 s.
BEFORE_S = 20.1
_ids = itertools.count()


async def _sent(client: AsyncSessionClient, sid: str, message_id: str) -> bool:
    try:
        await client.get_message(sid, message_id)
    except NotFoundError:
        return False
    return True


async def _one_client(
    stack: LocalStack, case: Misconfigured, url: str, waits: int
) -> tuple[Counter[str], float]:
    """``waits`` concurrent sends through one new client: their outcomes (``as intended``: the
    case's error within its bound, nothing sent), and the slowest's seconds."""
    outcomes: Counter[str] = Counter()
    slowest = 0.0
    async with AsyncSessionClient(stack.api_url, [url]) as client:
        sid = f"misconfigured-{next(_ids)}"
        await client.create_session(sid)

        async def send(message_id: str) -> None:
            nonlocal slowest
            started = time.monotonic()
            try:
                async with asyncio.timeout(TIMEOUT + 5):
                    await client.send_and_wait_for_response(
                        sid, "c", "m", "subj.misconfigured", TIMEOUT, message_id=message_id
                    )
                outcome = "answered"
            except Exception as exc:
                took = time.monotonic() - started
                slowest = max(slowest, took)
                intended = type(exc) is case.error and took < case.bound
                outcome = "as intended" if intended else f"{type(exc).__name__} in {took:.1f} s"
            if await _sent(client, sid, message_id):
                outcome += ", sent"
            outcomes[outcome] += 1

        await asyncio.gather(*(send(f"m-{n}") for n in range(waits)))
    return outcomes, slowest


async def test_a_misconfigured_nats_fails_every_wait_fast_and_sends_nothing(
    stack: LocalStack, figures: Callable[..., None]
) -> None:
    clients, waits = scale(1, 3), scale(2, 20)
    outcomes: dict[str, Counter[str]] = {}
    slowest: dict[str, float] = {}
    for name, case in MISCONFIGURED.items():
        outcomes[name], slowest[name] = Counter(), 0.0
        with case.serve() as url:
            for _ in range(clients):
                ended, took = await _one_client(stack, case, url, waits)
                outcomes[name] += ended
                slowest[name] = round(max(slowest[name], took), 2)
    expected = len(MISCONFIGURED) * clients * waits
    delivered = sum(ended["as intended"] for ended in outcomes.values())
    figures(
        "13. Misconfigured NATS fails fast",
        expected=expected,
        delivered=delivered,
        outcomes={name: dict(ended) for name, ended in outcomes.items()},
        max_s=slowest,
        bound_s={name: case.bound for name, case in MISCONFIGURED.items()},
        before_s=BEFORE_S,
        conditions=f"send_and_wait_for_response(timeout={TIMEOUT}); {clients} new client(s) per "
        f"case, {waits} sends each at once; delivered: raised the case's error "
        "(NatsAuthenticationError for the token) within bound_s, and the message was never sent",
    )
    assert delivered == expected, outcomes
