"""Scenarios 11 and 12: hostile HTTP servers (issue 17, items 4 and 5). A server dripping its
body or headers a byte at a time cannot hold a call past ``timeout``; a huge body or a gzip
bomb is refused without the client's memory growing by more than a few MiB."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from session_client import APITimeoutError, AsyncSessionClient
from session_client._rest import MAX_CONNECTIONS, MAX_RESPONSE_BYTES
from tests import hostile_http as hostile

from .conftest import scale

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 1.0
MARGIN = 1.0  # scheduling slack on a busy 2-core machine
RSS_BOUND_MB = 64
# Before (issue 17): timeout=2 against one byte every 0.5 s took 102 s. Peak RSS growth of
# scenario 12 at full size on the base commit 0daff33 (every case then raised
# APIResponseValidationError, after reading and inflating everything).
BEFORE_DRIP_S = 102
BEFORE_GROWTH_MB = {"body": 829, "body with Content-Length": 645, "gzip bomb": 579}


async def timed_call(client: AsyncSessionClient) -> tuple[str, float]:
    """One ``get_session``: what it raised (``hung`` past the bound), and how long it took."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(TIMEOUT + MARGIN):
            await client.get_session("s1")
        outcome = "returned"
    except TimeoutError:
        outcome = "hung"
    except Exception as exc:
        outcome = type(exc).__name__
    return outcome, time.monotonic() - started


async def test_slow_servers_cannot_hold_a_call_past_its_timeout(
    figures: Callable[..., None],
) -> None:
    count = scale(4, 100)  # per server, MAX_CONNECTIONS at a time
    results: list[tuple[str, float]] = []
    for reply in (hostile.drip_body(1000, 0.5), hostile.slow_headers(0.5)):
        with hostile.HostileServer(reply) as server:
            async with AsyncSessionClient(
                server.url, http_timeout=TIMEOUT, max_retries=0
            ) as client:
                for start in range(0, count, MAX_CONNECTIONS):
                    wave = min(MAX_CONNECTIONS, count - start)
                    results += await asyncio.gather(*(timed_call(client) for _ in range(wave)))
    took = [seconds for _, seconds in results]
    outcomes = Counter(outcome for outcome, _ in results)
    bounded = outcomes[APITimeoutError.__name__]
    figures(
        f"11. Slow-drip HTTP responses, {len(results)} calls",
        expected=len(results),
        delivered=bounded,
        outcomes=dict(outcomes),
        max_s=round(max(took), 2),
        median_s=round(statistics.median(took), 2),
        bound_s=TIMEOUT + MARGIN,
        before_s=BEFORE_DRIP_S,
        conditions=f"timeout={TIMEOUT:g}, max_retries=0; half the calls against a body of one "
        f"byte every 0.5 s, half against headers of one byte every 0.5 s; "
        f"{MAX_CONNECTIONS} calls at a time",
    )
    assert bounded == len(results), (outcomes, max(took))


def measure(reply: hostile.Reply) -> dict[str, float | str]:
    """The figures of :mod:`tests.reliability.oversized_client` against ``reply``."""
    with (
        hostile.HostileServer(hostile.json_body(hostile.session_record())) as warm,
        hostile.HostileServer(reply) as server,
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tests.reliability.oversized_client", warm.url, server.url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    run: dict[str, float | str] = json.loads(done.stdout)
    return run


def test_huge_bodies_and_gzip_bombs_leave_memory_alone(figures: Callable[..., None]) -> None:
    size = scale(30, 300) * 1000 * 1000
    bomb, compressed = hostile.gzip_bomb(size)
    cases: dict[str, hostile.Reply] = {
        "body": hostile.huge_body(size, chunked=True),  # no size said up front: read to the limit
        "body with Content-Length": hostile.huge_body(size, chunked=False),
        "gzip bomb": bomb,
    }
    runs = {name: measure(reply) for name, reply in cases.items()}
    growth = {
        name: round(float(run["peak_mb"]) - float(run["rss_before_mb"]), 1)
        for name, run in runs.items()
    }
    refused = {name: run["outcome"] == "APIResponseTooLargeError" for name, run in runs.items()}
    figures(
        f"12. Oversized HTTP responses, {size // 1000 // 1000} MB",
        expected=len(cases),
        delivered=sum(refused[name] and growth[name] < RSS_BOUND_MB for name in cases),
        outcomes={name: run["outcome"] for name, run in runs.items()},
        rss_growth_mb=growth,
        seconds_each={name: round(float(run["seconds"]), 2) for name, run in runs.items()},
        gzip_bomb_bytes=compressed,
        before_growth_mb=BEFORE_GROWTH_MB,
        conditions=f"max_response_bytes={MAX_RESPONSE_BYTES} (the default); RSS measured in a "
        "client process of its own (peak minus RSS after a warm-up call)",
    )
    assert all(refused.values()), runs
    assert max(growth.values()) < RSS_BOUND_MB, growth
