"""The call path's request slots, through the client: REST calls beyond the pool size wait in
order; a slot comes back however a call ends; the wait counts against the pool timeout; a call
backing off lends its slot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from session_client import APITimeoutError, AsyncSessionClient, InternalServerError
from session_client._rest import MAX_CONNECTIONS

from .records import SESSION

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def client(handler: Handler, **options: Any) -> AsyncSessionClient:
    return AsyncSessionClient("http://api", http_transport=httpx.MockTransport(handler), **options)


def session_of(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={**SESSION, "session_id": request.url.path.rsplit("/")[-1]})


async def test_at_most_max_connections_calls_send_at_once_and_all_complete() -> None:
    now = most = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal now, most
        now += 1
        most = max(most, now)
        await asyncio.sleep(0.001)
        now -= 1
        return session_of(request)

    async with client(handler) as api:
        ids = [f"s{n}" for n in range(3 * MAX_CONNECTIONS)]
        results = await asyncio.gather(*(api.get_session(i) for i in ids))
    assert [r["session_id"] for r in results] == ids
    assert most == MAX_CONNECTIONS


async def test_no_free_slot_in_time_is_an_api_timeout_and_slots_come_back() -> None:
    release, all_busy, arrived = asyncio.Event(), asyncio.Event(), 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        if "/b" in request.url.path:
            arrived += 1
            if arrived == MAX_CONNECTIONS:
                all_busy.set()
            await release.wait()
        return session_of(request)

    async with client(handler, http_timeout=httpx.Timeout(5.0, pool=0.05)) as api:
        busy = [asyncio.create_task(api.get_session(f"b{n}")) for n in range(MAX_CONNECTIONS)]
        await all_busy.wait()
        with pytest.raises(APITimeoutError, match="no free connection"):
            await api.get_session("late")
        busy[0].cancel()  # a cancelled call gives its slot back
        assert (await api.get_session("next"))["session_id"] == "next"
        release.set()
        await asyncio.gather(*busy[1:])


async def test_failed_calls_give_their_slots_back() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    async with client(handler, max_retries=0) as api:
        for _ in range(2 * MAX_CONNECTIONS):
            with pytest.raises(InternalServerError):
                await api.get_session("s")


async def test_calls_backing_off_do_not_hold_up_the_others() -> None:
    # Every pooled call is told to retry after 0.5 s: a new call still goes through at once.
    first_attempts: set[str] = set()
    all_refused = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        session = request.url.path.rsplit("/", 1)[-1]
        if session.startswith("busy") and session not in first_attempts:
            first_attempts.add(session)
            if len(first_attempts) == MAX_CONNECTIONS:
                all_refused.set()
            return httpx.Response(503, headers={"Retry-After": "0.5"})
        return session_of(request)

    async with client(handler, max_retries=1) as api:
        busy = [asyncio.create_task(api.get_session(f"busy{n}")) for n in range(MAX_CONNECTIONS)]
        await asyncio.wait_for(all_refused.wait(), 5)
        done = await asyncio.wait_for(api.get_session("free"), 0.3)
        assert done["session_id"] == "free" and not any(task.done() for task in busy)
        results = await asyncio.gather(*busy)
    assert [r["session_id"] for r in results] == [f"busy{n}" for n in range(MAX_CONNECTIONS)]


async def test_a_call_cancelled_while_backing_off_gives_back_no_slot_twice() -> None:
    # Were its slot given back twice, MAX_CONNECTIONS + 1 calls would then send at once.
    refused, now, most = asyncio.Event(), 0, 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal now, most
        if request.url.path.endswith("/backing-off"):
            refused.set()
            return httpx.Response(503, headers={"Retry-After": "30"})
        now += 1
        most = max(most, now)
        await asyncio.sleep(0.01)
        now -= 1
        return session_of(request)

    async with client(handler, max_retries=1) as api:
        task = asyncio.create_task(api.get_session("backing-off"))
        await refused.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.gather(*(api.get_session(f"s{n}") for n in range(3 * MAX_CONNECTIONS)))
    assert most == MAX_CONNECTIONS
