"""The short way of ``DirectClient.request`` builds the request httpx's own way would, and keeps
httpx's cookie handling."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from session_client._direct_client import DirectClient


class Recording(httpx.AsyncBaseTransport):
    """Answers 200 with ``set_cookie`` (if any), and keeps every request it got."""

    def __init__(self, set_cookie: str | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.set_cookie = set_cookie

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        headers = {"content-type": "application/json"}
        if self.set_cookie is not None:
            headers["set-cookie"] = self.set_cookie
        return httpx.Response(200, headers=headers, content=b'{"ok": true}')


def direct(transport: httpx.AsyncBaseTransport, hooks: list[Any] | None = None) -> DirectClient:
    return DirectClient(
        base_url="http://api.test:8080/prefix/",
        headers={"User-Agent": "session_client_lib", "Authorization": "Bearer t"},
        timeout=httpx.Timeout(7.0, pool=3.0),
        transport=transport,
        event_hooks={"response": hooks or []},
    )


def seen(request: httpx.Request) -> tuple[Any, ...]:
    """What the server gets. The JSON body's bytes are httpx 0.28's (httpx 0.27 adds spaces)."""
    headers = request.headers.multi_items()
    length = request.headers.get("content-length")
    assert length in (None, str(len(request.content)))
    return (
        request.method,
        str(request.url),
        sorted((name, value) for name, value in headers if name != "content-length"),
        length is None,
        json.loads(request.content) if request.content else request.content,
        request.extensions["timeout"],
    )


@pytest.mark.parametrize(
    "call",
    [
        {"method": "get", "url": "/sessions/a%2Fb", "params": {"limit": 5, "cursor": "x y"}},
        {
            "method": "post",
            "url": "/sessions/s/messages",
            "json": {"message": "héllo", "n": [1, 2]},
            "headers": {"Idempotency-Key": "k1", "Content-Type": "application/json"},
        },
        {"method": "post", "url": "/sessions/s/reject", "headers": {"user-agent": "own/1"}},
        {"method": "delete", "url": "/sessions/s"},
    ],
)
async def test_a_plain_call_sends_what_httpx_own_way_sends(call: dict[str, Any]) -> None:
    short, own = Recording(), Recording()
    async with direct(short) as client:
        response = await client.request(**call)
        assert response.json() == {"ok": True} and response.request is short.requests[0]
    async with direct(own) as client:
        await httpx.AsyncClient.request(client, **call)  # httpx's own way, same client
    assert seen(short.requests[0]) == seen(own.requests[0])


async def test_response_hooks_run_and_their_errors_reach_the_caller() -> None:
    calls: list[int] = []

    async def hook(response: httpx.Response) -> None:
        calls.append(response.status_code)
        raise RuntimeError("mapped")

    async with direct(Recording(), [hook]) as client:
        with pytest.raises(RuntimeError, match="mapped"):
            await client.request("get", "/health")
    assert calls == [200]


async def test_cookies_are_kept_and_sent_back() -> None:
    transport = Recording(set_cookie="lb=node-2; Path=/")
    async with direct(transport) as client:
        await client.request("get", "/health")
        transport.set_cookie = None
        await client.request("get", "/health")
    assert "cookie" not in transport.requests[0].headers
    assert transport.requests[1].headers["cookie"] == "lb=node-2"


class Refusing(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")


async def test_a_transport_error_names_its_request_as_httpx_own_way_does() -> None:
    async with direct(Refusing()) as client:
        with pytest.raises(httpx.ConnectError) as raised:
            await client.request("get", "/health")
    assert str(raised.value.request.url) == "http://api.test:8080/prefix/health"


async def test_a_closed_client_refuses_to_send() -> None:
    transport = Recording()
    client = direct(transport)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.request("get", "/health")
    assert transport.requests == []


async def test_it_logs_the_line_httpx_own_way_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="httpx")
    async with direct(Recording()) as client:
        await client.request("get", "/health")
    (record,) = [record for record in caplog.records if record.name == "httpx"]
    assert record.getMessage() == (
        'HTTP Request: GET http://api.test:8080/prefix/health "HTTP/1.1 200 OK"'
    )
