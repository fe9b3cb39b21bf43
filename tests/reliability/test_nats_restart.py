"""Scenario 1: the nats-server is SIGKILLed and restarted (same port and store) while the human
answers; every pending wait still gets its answer, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from session_client import AsyncSessionClient
from session_client.testing import LocalStack

from ..lingering import subscriptions_left
from .conftest import answer_spread, create_sessions, scale, sessions_on_subjects, wait_all

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


async def test_nats_sigkill_and_restart_while_answering(figures: Callable[..., None]) -> None:
    count, window, outage = scale(20, 100), 3.0, 1.0
    with LocalStack() as stack:
        stack.human.stay_silent()
        nats_server = stack.nats_server
        assert nats_server is not None
        session_ids, subject_of = sessions_on_subjects("restart", count, 10)

        async with (
            # Reconnecting later than the server's publisher (0.1 s), the client misses what
            # the publisher flushes on its reconnect: only the REST re-check can recover it.
            AsyncSessionClient(
                stack.api_url, [stack.nats_url], nats_options={"reconnect_time_wait": 1.5}
            ) as client,
            AsyncSessionClient(stack.api_url, [stack.nats_url], max_retries=5) as answerer,
        ):
            await create_sessions(client, session_ids, subject_of)
            waits = asyncio.create_task(wait_all(client, session_ids, subject_of, timeout=20))
            answering = asyncio.create_task(answer_spread(stack, count, window, answerer))
            await asyncio.to_thread(stack.human.wait_for_messages, count, 60)
            await asyncio.sleep(window * 0.3)
            nats_server.kill()  # SIGKILL, mid-answering
            killed_pid_gone = not nats_server.running
            await asyncio.sleep(outage)
            await asyncio.to_thread(nats_server.start)  # same port, same store
            await answering
            tally = await waits
            nc = client.nats_connection
            reconnects = nc.stats["reconnects"] if nc is not None else 0
            subscriptions = await subscriptions_left(client)
    figures(
        "1. NATS SIGKILL + restart",
        **tally.figures(),
        reconnects=reconnects,
        conditions=f"answers spread over {window:g} s, SIGKILL at {window * 0.3:g} s, "
        f"down {outage:g} s; the client reconnects 1.5 s apart, the server's publisher 0.1 s",
    )
    assert killed_pid_gone
    assert reconnects >= 1
    assert tally.delivered == count, tally.figures()
    assert tally.duplicated == 0 and tally.wrong == 0
    assert subscriptions == 0
