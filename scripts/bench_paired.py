"""Where the library's CPU goes: ``AsyncSessionClient`` and ``floor-aiohttp`` in one process,
on their own sessions, in alternating blocks of round trips; the median of the per-block CPU
ratios (``make bench``'s stack).

    .venv/bin/python scripts/bench_paired.py --concurrency 50 --block 1000 --rounds 12
    .venv/bin/python scripts/bench_paired.py --concurrency 50 --without recovery-timer

On this VM the CPU time of one round trip moves by up to 30% between runs of the same code, a
drift that separate processes (``make bench``, ``bench_compare.py``) see as noise; blocks a
second apart see it alike, so their ratio holds still to a few percent.

``--without`` replaces pieces of the library with what costs nothing, to find what a piece
costs: an experiment, never a result (the library without them is not correct). Each names
the private attributes it replaces, so it fails loudly when they change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import bench


def _no_recovery_timer() -> None:
    """No per-subject timer for the safety-net rounds (armed with each first wait)."""
    from session_client._wait._waiter import ResponseWaiter

    ResponseWaiter._arm = lambda self, subject, state: None  # type: ignore[method-assign]


def _no_request_slots() -> None:
    """No bound on the REST calls in flight (the aiohttp pool still bounds connections)."""
    from session_client import rest

    made = rest.RestApi.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        self._slots = contextlib.nullcontext()

    rest.RestApi.__init__ = init  # type: ignore[method-assign]


def _no_attempt_deadline() -> None:
    """No ``asyncio.timeout`` around each HTTP attempt."""
    from session_client import _attempt, retries

    bounded = _attempt.bounded_attempt

    async def attempt(transport: Any, request: Any, deadline: Any, max_bytes: int) -> Any:
        return await bounded(transport, request, None, max_bytes)

    retries.bounded_attempt = attempt  # type: ignore[attr-defined]


def _no_read_timer() -> None:
    """No aiohttp per-read timer (``sock_read``), rescheduled on every read."""
    import aiohttp

    from session_client._aiohttp import AiohttpTransport

    untimed = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None, sock_read=None)
    AiohttpTransport._timeout = lambda self, timeouts: untimed  # type: ignore[method-assign]


def _no_generated_call() -> None:
    """The send's request goes straight to the library's httpx client: no generated call, no
    models, no second JSON parse."""
    from session_client import async_client

    async def send(self: Any, session_id: str, body: dict[str, Any]) -> Any:
        headers = {"Idempotency-Key": os.urandom(16).hex(), "Content-Type": "application/json"}
        async with self._rest._slots:
            response = await self._rest.http.request(
                "POST", f"/sessions/{session_id}/messages", json=body, headers=headers
            )
        return json.loads(response.content)

    async_client.AsyncSessionClient._send = send  # type: ignore[method-assign]


def _plain_aiohttp_post() -> None:
    """The send is a plain aiohttp POST, as ``floor-aiohttp`` makes it: no httpx, no
    transport stack, no generated call."""
    import aiohttp

    from session_client import async_client
    from session_client.limits import MAX_CONNECTIONS

    sessions: dict[int, aiohttp.ClientSession] = {}

    async def send(self: Any, session_id: str, body: dict[str, Any]) -> Any:
        http = sessions.get(id(self))
        if http is None:
            http = sessions[id(self)] = aiohttp.ClientSession(
                base_url=self._rest._base_url.rstrip("/") + "/",
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
            )
        headers = {"Idempotency-Key": os.urandom(16).hex()}
        async with http.post(f"sessions/{session_id}/messages", json=body, headers=headers) as r:
            return await r.json()

    async_client.AsyncSessionClient._send = send  # type: ignore[method-assign]
    closing = async_client.AsyncSessionClient.aclose

    async def aclose(self: Any) -> None:
        http = sessions.pop(id(self), None)
        if http is not None:
            await http.close()
        await closing(self)

    async_client.AsyncSessionClient.aclose = aclose  # type: ignore[method-assign]


PIECES: dict[str, Callable[[], None]] = {
    "recovery-timer": _no_recovery_timer,
    "request-slots": _no_request_slots,
    "attempt-deadline": _no_attempt_deadline,
    "read-timer": _no_read_timer,
    "generated-call": _no_generated_call,
    "rest-layer": _plain_aiohttp_post,
}


async def paired(api_url: str, nats_url: str, concurrency: int, block: int, rounds: int) -> str:
    """The library's and the floor's CPU per round trip, and the median of their ratios."""
    rounds_per_caller = max(1, block // concurrency)
    # make bench's own clients (its timeouts, its floor); the floor on sessions of its own.
    library_op, close_library = bench.async_caller(
        bench.Spec("async", concurrency, block, api_url, nats_url)
    )
    floor_at, close_floor = bench.async_caller(
        bench.Spec("floor-aiohttp", concurrency, block, api_url, nats_url)
    )

    async def floor_op(index: int) -> Any:
        return await floor_at(index + concurrency)

    async def cpu_per_op(op: Callable[[int], Awaitable[Any]]) -> float:
        started = time.process_time()
        await bench._async_rounds(op, concurrency, rounds_per_caller, [])  # make bench's loop
        return (time.process_time() - started) / (rounds_per_caller * concurrency)

    for op in (library_op, floor_op):
        await op(0)  # connects (alone: the floor connects on its first call)
        await cpu_per_op(op)  # warm: connections, subscriptions, imports
    library, floors, ratios = [], [], []
    for index in range(rounds):  # alternate which goes first
        if index % 2:
            floor_cpu, library_cpu = await cpu_per_op(floor_op), await cpu_per_op(library_op)
        else:
            library_cpu, floor_cpu = await cpu_per_op(library_op), await cpu_per_op(floor_op)
        library.append(library_cpu)
        floors.append(floor_cpu)
        ratios.append(library_cpu / floor_cpu)
    await close_library()
    await close_floor()
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return (
        f"x{concurrency}: async {statistics.median(library) * 1e6:.0f} us, floor-aiohttp "
        f"{statistics.median(floors) * 1e6:.0f} us, ratio {statistics.median(ratios):.3f} "
        f"(quartiles {q1:.3f} - {q3:.3f}, {rounds} blocks of {block})"
    )


def main() -> int:
    """Run the paired blocks; print one line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--block", type=int, default=200, help="round trips per block")
    parser.add_argument("--rounds", type=int, default=16, help="blocks of each")
    parser.add_argument("--without", action="append", default=[], choices=sorted(PIECES))
    options = parser.parse_args()
    for piece in options.without:
        PIECES[piece]()
    with bench.local_stack() as urls:
        asyncio.run(bench.create_sessions(urls["api_url"], 2 * options.concurrency))
        line = asyncio.run(
            paired(
                urls["api_url"],
                urls["nats_url"],
                options.concurrency,
                options.block,
                options.rounds,
            )
        )
    print(f"{line}, without: {', '.join(options.without) or 'nothing'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
