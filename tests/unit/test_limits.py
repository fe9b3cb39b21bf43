"""RequestSlots: REST calls beyond the pool size wait in order; slots come back however a call
ends; the wait counts against the pool timeout."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httpx
import pytest

from session_client import APITimeoutError
from session_client.limits import MAX_CONNECTIONS, RequestSlots
from session_client.rest import RestApi

from .records import SESSION


class _Inside:
    """Counts the calls inside the slots at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.order: list[int] = []

    async def call(self, slots: RequestSlots, n: int) -> int:
        async with slots:
            self.now += 1
            self.most = max(self.most, self.now)
            self.order.append(n)
            await asyncio.sleep(0.001)
            self.now -= 1
        return n


async def test_at_most_limit_calls_inside_in_order_and_all_complete() -> None:
    inside, slots = _Inside(), RequestSlots(3, None)
    results = await asyncio.gather(*(inside.call(slots, n) for n in range(50)))
    assert results == list(range(50))
    assert inside.most == 3
    assert inside.order == list(range(50))  # first come, first served


async def test_waiting_for_a_slot_counts_against_the_pool_timeout() -> None:
    slots = RequestSlots(1, 0.05)
    async with slots:
        with pytest.raises(httpx.PoolTimeout):
            async with slots:
                pass
    async with slots:  # the slot came back
        pass


async def test_a_failed_or_cancelled_call_gives_its_slot_back() -> None:
    slots = RequestSlots(1, 1.0)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            async with slots:
                raise RuntimeError("the call failed")
    held = asyncio.Event()

    async def hold() -> None:
        async with slots:
            held.set()
            await asyncio.sleep(30)

    holder = asyncio.create_task(hold())
    await held.wait()
    holder.cancel()
    async with asyncio.timeout(1):
        async with slots:
            pass


class _Detailed:
    """What a generated ``asyncio_detailed`` call returns: the parsed model and the body."""

    parsed = object()
    content = b'{"ok": true}'
    headers: ClassVar[dict[str, str]] = {}


async def test_rest_calls_are_bounded_before_they_start() -> None:
    inside = _Inside()
    rest = RestApi("http://api", api_key=None, timeout=5.0, max_retries=0)

    async def operation(*, client: Any) -> _Detailed:
        await inside.call(RequestSlots(1_000, None), 0)  # just counts: the bound is the API's
        return _Detailed()

    results = await asyncio.gather(*(rest.call(operation) for _ in range(3 * MAX_CONNECTIONS)))
    assert results == [{"ok": True}] * (3 * MAX_CONNECTIONS)
    assert inside.most == MAX_CONNECTIONS
    await rest.aclose()


async def test_no_free_slot_in_time_is_an_api_timeout() -> None:
    rest = RestApi("http://api", api_key=None, timeout=httpx.Timeout(5.0, pool=0.05), max_retries=0)
    release = asyncio.Event()

    async def slow(*, client: Any) -> _Detailed:
        await release.wait()
        return _Detailed()

    busy = [asyncio.create_task(rest.call(slow)) for _ in range(MAX_CONNECTIONS)]
    await asyncio.sleep(0.01)
    with pytest.raises(APITimeoutError):
        await rest.call(slow)
    release.set()
    await asyncio.gather(*busy)
    await rest.aclose()


async def test_a_call_backing_off_lends_its_slot_and_takes_one_back_in_line() -> None:
    slots, order = RequestSlots(1, None), []
    backing_off, retried = asyncio.Event(), asyncio.Event()

    async def retrying() -> None:
        async with slots:
            async with slots.released():
                backing_off.set()
                await retried.wait()
            order.append("retry")

    async def other() -> None:
        await backing_off.wait()
        async with slots:
            order.append("other")
            retried.set()  # the retry is due while this call still holds the only slot
            await asyncio.sleep(0.01)

    await asyncio.wait_for(asyncio.gather(retrying(), other()), 1)
    assert order == ["other", "retry"]
    assert slots._slots._value == 1  # every slot back


async def test_a_call_cancelled_while_backing_off_gives_back_no_slot_twice() -> None:
    slots, backing_off = RequestSlots(2, None), asyncio.Event()

    async def retrying() -> None:
        async with slots, slots.released():
            backing_off.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(retrying())
    await backing_off.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert slots._slots._value == 2


async def test_rest_calls_backing_off_do_not_hold_up_the_others() -> None:
    # Every pooled call is told to retry after 0.5 s: a new call still goes through at once.
    first_attempts: set[str] = set()
    all_refused = asyncio.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        session = request.url.path.rsplit("/", 1)[-1]
        if session.startswith("busy") and session not in first_attempts:
            first_attempts.add(session)
            if len(first_attempts) == MAX_CONNECTIONS:
                all_refused.set()
            return httpx.Response(503, headers={"Retry-After": "0.5"})
        return httpx.Response(200, json={**SESSION, "session_id": session})

    rest = RestApi(
        "http://api",
        api_key=None,
        timeout=5.0,
        max_retries=1,
        transport=httpx.MockTransport(handler),
    )
    from session_client._session_api.api.sessions import get_session

    busy = [
        asyncio.create_task(rest.call(get_session.asyncio_detailed, f"busy{n}"))
        for n in range(MAX_CONNECTIONS)
    ]
    await asyncio.wait_for(all_refused.wait(), 5)
    done = await asyncio.wait_for(rest.call(get_session.asyncio_detailed, "free"), 0.3)
    assert done["session_id"] == "free" and not any(task.done() for task in busy)
    assert [r["session_id"] for r in await asyncio.gather(*busy)] == [
        f"busy{n}" for n in range(MAX_CONNECTIONS)
    ]
    await rest.aclose()


async def test_a_task_started_inside_a_call_cannot_lend_the_calls_slot() -> None:
    # The child inherits the call's context (and so its hold): releasing the call's slot from
    # there would let the call end without giving its slot back.
    slots = RequestSlots(1, None)

    async def child() -> None:
        async with slots.released():
            assert slots._slots.locked()  # still the call's

    async with slots:
        await asyncio.create_task(child())
    assert slots._slots._value == 1
