"""Scenario 4: while waits are pending, another client floods their subjects with non-JSON,
non-object, deeply nested, near-max_payload, wrong-session, forged and duplicated payloads;
every waiter still gets exactly its own answer, memory stays bounded, and, with the event loop
blocked now and then, no message is dropped for a slow consumer."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from session_client import AsyncSessionClient
from session_client.testing import LocalStack

from ..lingering import subscriptions_left
from .conftest import create_sessions, echo, rss_mb, scale, wait_all

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

ROOT = Path(__file__).resolve().parents[2]
RSS_BOUND_MB = 256


class PeakRss:
    """Samples RSS every 50 ms on a thread; ``peak`` is the largest seen."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


async def busy_application(period: float) -> None:
    """Block the event loop 0.1 s of every ``period``, as CPU-bound application code would:
    messages pile up meanwhile, which is what overruns a subscription's buffer."""
    while True:
        await asyncio.sleep(period)
        time.sleep(0.1)  # noqa: ASYNC251 - blocking on purpose


async def test_hostile_flood_never_reaches_the_wrong_waiter(
    figures: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    count, flood_seconds, answer_delay = scale(20, 100), float(scale(4, 15)), float(scale(2, 6))
    session_ids = [f"hostile-{i}" for i in range(count)]

    def subject_of(session_id: str) -> str:
        return f"hostile.{int(session_id.rsplit('-', 1)[1]) % 5}"

    # Where the waits listen: each session's own subject (asyncapi.yaml).
    subjects = [f"sessions.responses.{subject_of(s)}.{s}" for s in session_ids]
    with LocalStack() as stack:
        stack.human.answer_using(echo, delay=answer_delay)
        async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as client:
            await create_sessions(client, session_ids, subject_of)
            baseline = rss_mb()
            spec = json.dumps({"subjects": subjects, "sessions": session_ids})
            flooder = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.reliability.flooder",
                stack.nats_url,
                str(flood_seconds),
                spec,
                cwd=ROOT,
                stdout=subprocess.PIPE,
            )
            try:
                with PeakRss() as rss:
                    await asyncio.sleep(0.5)  # the flood is on before the first send
                    busy = asyncio.create_task(busy_application(0.5))
                    tally = await wait_all(
                        client, session_ids, subject_of, timeout=answer_delay + 30
                    )
                    busy.cancel()
                    out, _ = await asyncio.wait_for(flooder.communicate(), flood_seconds + 30)
            finally:
                if flooder.returncode is None:
                    flooder.kill()
                    await flooder.wait()
            sent = json.loads(out)
            nc = client.nats_connection
            reconnects = nc.stats["reconnects"] if nc is not None else 0
            connected = nc is not None and nc.is_connected
            subscriptions = await subscriptions_left(client)
    growth = rss.peak - baseline
    # nats-py hands each message to the router as it reads it (no buffer of its own to
    # overrun, so no SlowConsumerError): the busy loop only slows the reading. The server
    # would disconnect a client that fell too far behind, which the reconnect count shows.
    slow_consumer_logged = any("SlowConsumer" in r.getMessage() for r in caplog.records)
    figures(
        "4. Hostile traffic flood",
        **tally.figures(),
        flood_payloads=sum(sent.values()),
        flood_by_kind=sent,
        reconnects=reconnects,
        rss_growth_mb=round(growth, 1),
        conditions="the event loop blocked 0.1 s every 0.5 s, as busy application code would",
    )
    assert tally.delivered == count, tally.figures()
    assert tally.wrong == 0 and tally.duplicated == 0
    assert sent["huge"] > 0 and sent["duplicate"] > 0 and sent["forged_message_id"] > 0
    assert not slow_consumer_logged
    assert connected and subscriptions == 0
    assert growth < RSS_BOUND_MB, f"RSS grew by {growth:.0f} MiB"
