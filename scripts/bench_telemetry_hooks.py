"""The CPU the telemetry hooks add to one ``send_and_wait_for_response`` when no SDK is
configured: far below what a round trip varies by on a shared VM (``bench_compare.py`` cannot
resolve it), so it is measured here, in process, hook by hook.

    .venv/bin/python scripts/bench_telemetry_hooks.py          # OpenTelemetry not imported
    .venv/bin/python scripts/bench_telemetry_hooks.py --api    # its API imported, no SDK
"""

from __future__ import annotations

import asyncio
import sys
import time
import timeit
from collections.abc import Callable, Coroutine
from typing import Any

from session_client._calls import _id_positions
from session_client._telemetry import Telemetry
from session_client._wait._routing import Wait
from session_client.async_client import AsyncSessionClient

N = 200_000
REPEATS = 5


async def _extra_await(
    plain: Callable[[int], Coroutine[Any, Any, None]],
    layered: Callable[[int], Coroutine[Any, Any, None]],
) -> float:
    """CPU per call that ``layered`` adds to ``plain`` (best of ``REPEATS``)."""
    best = []
    for _ in range(REPEATS):
        started = time.process_time()
        await plain(N)
        middle = time.process_time()
        await layered(N)
        best.append((time.process_time() - middle - (middle - started)) / N)
    return min(best)


async def main() -> None:
    telemetry = Telemetry()
    method = AsyncSessionClient.send_and_wait_for_response.__wrapped__  # type: ignore[attr-defined]
    ids = _id_positions(method)
    args, kwargs = ("session", "channel", "message", "subject"), {"timeout": 10}
    wait = Wait("sessions.responses.subject", "subject", "session", "message")

    def call_hook() -> None:
        with telemetry.call("session_client.send_and_wait_for_response", ids, args, kwargs):
            pass

    def wait_hooks() -> None:
        telemetry.wait_started(wait, telemetry.now(), 0)
        telemetry.wait_ended(wait, "timeout", 0)

    async def nothing() -> None:
        return None

    async def wrapper() -> None:
        return await nothing()  # what ResponseWaiter.register adds around _register

    async def plain(n: int) -> None:
        for _ in range(n):
            await nothing()

    async def wrapped(n: int) -> None:
        for _ in range(n):
            await wrapper()

    costs = {
        "call span": min(timeit.repeat(call_hook, number=N, repeat=REPEATS)) / N,
        "wait start + end": min(timeit.repeat(wait_hooks, number=N, repeat=REPEATS)) / N,
        # RestClient._attempt asks it once per HTTP attempt.
        "HTTP attempt hook": min(timeit.repeat(telemetry.on, number=N, repeat=REPEATS)) / N,
        "register wrapper": await _extra_await(plain, wrapped),
    }
    for name, seconds in costs.items():
        print(f"{name:24} {seconds * 1e9:7.0f} ns")
    print(f"{'per round trip':24} {sum(costs.values()) * 1e9:7.0f} ns")


if __name__ == "__main__":
    if "--api" in sys.argv:
        import opentelemetry.metrics
        import opentelemetry.trace  # noqa: F401
    print("OpenTelemetry imported:", "opentelemetry" in sys.modules)
    asyncio.run(main())
