"""BoundedTransport: requests beyond the pool size wait in order, slots come back on close."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from session_client.limits import BoundedTransport


class _Counting(httpx.AsyncBaseTransport):
    """Answers after a yield, recording how many requests were inside at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.inside += 1
        self.most = max(self.most, self.inside)
        await asyncio.sleep(0.001)
        self.inside -= 1
        return httpx.Response(200, json={"path": request.url.path})


class _Streaming(httpx.AsyncByteStream):
    """A body that is only read when iterated, like a real connection's."""

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b"ok"


def _streamed(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, stream=_Streaming())


async def test_at_most_limit_requests_inside_and_all_complete() -> None:
    inner = _Counting()
    async with httpx.AsyncClient(
        transport=BoundedTransport(inner, limit=3), base_url="http://api"
    ) as http:
        responses = await asyncio.gather(*(http.get(f"/{n}") for n in range(50)))
    assert [r.json()["path"] for r in responses] == [f"/{n}" for n in range(50)]
    assert inner.most == 3


async def test_slot_is_held_until_the_body_is_closed() -> None:
    transport = BoundedTransport(httpx.MockTransport(_streamed), limit=1)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        request = http.build_request("GET", "/a")
        streamed = await http.send(request, stream=True)
        second = asyncio.create_task(http.get("/b"))
        await asyncio.sleep(0.01)
        assert not second.done()
        await streamed.aclose()
        assert (await second).status_code == 200


async def test_waiting_for_a_slot_counts_against_the_pool_timeout() -> None:
    transport = BoundedTransport(httpx.MockTransport(_streamed), limit=1)
    timeout = httpx.Timeout(5.0, pool=0.05)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api", timeout=timeout
    ) as http:
        streamed = await http.send(http.build_request("GET", "/a"), stream=True)
        with pytest.raises(httpx.PoolTimeout):
            await http.get("/b")
        await streamed.aclose()
        assert (await http.get("/c")).status_code == 200


async def test_a_failed_request_gives_its_slot_back() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    transport = BoundedTransport(httpx.MockTransport(fail), limit=1)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        for _ in range(3):
            with pytest.raises(httpx.ConnectError):
                await http.get("/a")
