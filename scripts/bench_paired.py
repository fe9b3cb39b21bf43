"""Where the library's CPU goes: ``AsyncSessionClient`` on one backend and that backend's floor
(``bench.FLOOR_OF``) in one process, on their own sessions, in alternating blocks of round
trips; the median of the per-block CPU ratios (``make bench``'s stack).

    .venv/bin/python scripts/bench_paired.py --concurrency 50 --block 1000 --rounds 12
    .venv/bin/python scripts/bench_paired.py --backend aiohttp --without recovery-timer

On this VM the CPU time of one round trip moves by up to 30% between runs of the same code, a
drift that separate processes (``make bench``, ``bench_compare.py``) see as noise; blocks a
second apart see it alike, so their ratio holds still to a few percent.

``--without`` replaces pieces of the library with what costs nothing, to find what a piece
costs: an experiment, never a result (the library without them is not correct). Each names
what of the library it replaces, so it fails loudly when that changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import bench
from bench_floors import FLOORS, KeptSubscriptionFloor


@dataclass(frozen=True)
class Run:
    """What a piece may need to know: the stack's API and the backend measured."""

    api_url: str
    backend: str

    @property
    def variant(self) -> str:
        """The library's variant on this backend."""
        return next(name for name, used in bench.BACKEND_OF.items() if used == self.backend)


def _no_recovery_timer(run: Run) -> None:
    """No recovery round armed (each subject's first wait arms its safety-net round)."""
    from session_client._wait._waiter import ResponseWaiter

    ResponseWaiter._arm = lambda self, subject, state: None  # type: ignore[method-assign]


class _NoSlots:
    """What ``RestClient`` asks of its ``asyncio.Semaphore``, never waiting."""

    def locked(self) -> bool:
        return False

    async def acquire(self) -> None:
        return None

    def release(self) -> None:
        return None


def _no_request_slots(run: Run) -> None:
    """No bound on the REST calls in flight (``RestClient._slots``; the backend's pool still
    bounds connections)."""
    from session_client._rest import RestClient

    made = RestClient.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        self._slots = _NoSlots()

    RestClient.__init__ = init  # type: ignore[method-assign]


def _no_generated_call(run: Run) -> None:
    """The send's request built by hand and its body not checked with the generated model:
    ``AsyncSessionClient._send`` straight to ``RestClient.call``."""
    from session_client import async_client
    from session_client._session_api.types import ApiRequest

    async def send(self: Any, session_id: str, body: dict[str, Any], options: Any) -> Any:
        headers = {"Idempotency-Key": os.urandom(16).hex(), "Content-Type": "application/json"}
        content = json.dumps(body).encode()
        request = ApiRequest("POST", f"/sessions/{session_id}/messages", headers, content)
        return await self._rest.call(request, lambda status, data: data, options)

    async_client.AsyncSessionClient._send = send  # type: ignore[method-assign]


def _floor_post(run: Run) -> None:
    """The send is the POST of the backend's floor, on a pool of its own: no call path, no
    backend module, no generated call. Replaces ``AsyncSessionClient._send``, the seam that
    ``bench.recording_client`` overrides too; reads no private attribute."""
    from session_client import async_client

    floors: dict[int, KeptSubscriptionFloor] = {}

    async def send(self: Any, session_id: str, body: dict[str, Any], options: Any) -> Any:
        floor = floors.get(id(self))
        if floor is None:
            floor = floors[id(self)] = FLOORS[bench.FLOOR_OF[run.variant]](run.api_url, "")
            await floor.open_http()
        return await floor.post(session_id, body, os.urandom(16).hex())

    async_client.AsyncSessionClient._send = send  # type: ignore[method-assign]
    closing = async_client.AsyncSessionClient.aclose

    async def aclose(self: Any) -> None:
        floor = floors.pop(id(self), None)
        if floor is not None:
            await floor.close_http()
        await closing(self)

    async_client.AsyncSessionClient.aclose = aclose  # type: ignore[method-assign]


PIECES: dict[str, Callable[[Run], None]] = {
    "recovery-timer": _no_recovery_timer,
    "request-slots": _no_request_slots,
    "generated-call": _no_generated_call,
    "rest-layer": _floor_post,
}


async def paired(
    variant: str, api_url: str, nats_url: str, concurrency: int, block: int, rounds: int
) -> str:
    """The library's (``variant``) and its floor's CPU per round trip, and the median of their
    ratios."""
    rounds_per_caller = max(1, block // concurrency)
    floor_variant = bench.FLOOR_OF[variant]
    # make bench's own clients (its timeouts, its floor); the floor on sessions of its own.
    library_op, close_library = bench.async_caller(
        bench.Spec(variant, concurrency, block, api_url, nats_url)
    )
    floor_at, close_floor = bench.async_caller(
        bench.Spec(floor_variant, concurrency, block, api_url, nats_url)
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
        f"x{concurrency}: {variant} {statistics.median(library) * 1e6:.0f} us, {floor_variant} "
        f"{statistics.median(floors) * 1e6:.0f} us, ratio {statistics.median(ratios):.3f} "
        f"(quartiles {q1:.3f} - {q3:.3f}, {rounds} blocks of {block})"
    )


def main() -> int:
    """Run the paired blocks; print one line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--block", type=int, default=200, help="round trips per block")
    parser.add_argument("--rounds", type=int, default=16, help="blocks of each")
    parser.add_argument("--backend", default="httpx", choices=("httpx", "aiohttp", "httpx2"))
    parser.add_argument("--without", action="append", default=[], choices=sorted(PIECES))
    options = parser.parse_args()
    with bench.local_stack() as urls:
        run = Run(urls["api_url"], options.backend)
        for piece in options.without:
            PIECES[piece](run)
        asyncio.run(bench.create_sessions(urls["api_url"], 2 * options.concurrency))
        line = asyncio.run(
            paired(
                run.variant,
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
