"""What users of well-made Python SDKs expect (issue 29, item 5): the base URL from the
environment, a versioned User-Agent, ``with_options`` and per-call ``extra_headers`` /
``http_timeout`` on every method, ``iter_sessions``, ``SESSION_CLIENT_LOG``, and the
constructor's ``timeout`` renamed ``http_timeout``."""

from __future__ import annotations

import asyncio
import platform
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from session_client import APITimeoutError, AsyncSessionClient, InternalServerError, SessionClient

from .records import MESSAGE, SESSION

API = "http://api.test"
EXPIRED = {"expired_count": 0, "session_ids": []}
ANSWERED = {**MESSAGE, "state": "ANSWERED", "response": {"ok": True}, "subject_id": "subj"}
ANSWERED["responded_at"] = "2026-11-25T10:01:00Z"

#: Every REST method, called with what it needs (the waits: tests/integration/test_facade.py).
CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "create_session": (("s1",), {}),
    "get_session": (("s1",), {}),
    "list_sessions": ((), {}),
    "send_message": (("s1", "c", "hi"), {"message_id": "m1"}),
    "get_message": (("s1", "m1"), {}),
    "submit_response": (("s1", "m1", {"ok": True}), {}),
    "expire_sessions": ((), {}),
    "reject_session": (("s1",), {}),
}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        router.post("/sessions").respond(201, json=SESSION)
        router.get("/sessions/s1").respond(200, json=SESSION)
        router.get("/sessions").respond(200, json={"items": [SESSION], "next_cursor": None})
        router.post("/sessions/s1/messages").respond(202, json=MESSAGE)
        router.get("/sessions/s1/messages/m1").respond(200, json=ANSWERED)
        router.post("/sessions/s1/messages/m1/response").respond(200, json=ANSWERED)
        router.post("/sessions/expire").respond(200, json=EXPIRED)
        router.post("/sessions/s1/reject").respond(200, json={**SESSION, "status": "FAILED"})
        yield router


def test_the_base_url_comes_from_org_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORG_API_URL", "http://from-env:8000/")
    assert SessionClient().api_base_url == "http://from-env:8000"
    assert AsyncSessionClient().api_base_url == "http://from-env:8000"
    monkeypatch.delenv("ORG_API_URL")
    with pytest.raises(ValueError, match="ORG_API_URL"):
        SessionClient()


async def test_the_user_agent_names_the_version_python_and_backend(
    api: respx.MockRouter,
) -> None:
    async with AsyncSessionClient(API) as client:
        await client.get_session("s1")
    agent = api.calls.last.request.headers["user-agent"]
    python = ".".join(platform.python_version_tuple()[:2])
    assert agent == f"session_client_lib/0.1.0 (python {python}; httpx {httpx.__version__})"


@pytest.mark.parametrize("method", CALLS)
async def test_every_method_takes_extra_headers_and_http_timeout(
    api: respx.MockRouter, method: str
) -> None:
    async with AsyncSessionClient(API, ["nats://127.0.0.1:1"]) as client:
        args, kwargs = CALLS[method]
        call = getattr(client, method)(
            *args, **kwargs, extra_headers={"X-Trace": method}, http_timeout=7
        )
        await asyncio.wait_for(call, 10)
    assert api.calls.last.request.headers["x-trace"] == method


def test_the_blocking_client_passes_them_on(api: respx.MockRouter) -> None:
    with SessionClient(API) as client:
        client.get_session("s1", extra_headers={"X-Trace": "sync"}, http_timeout=3)
        tuned = client.with_options(extra_headers={"X-Tenant": "t1"})
        tuned.get_session("s1")
    request = api.calls.last.request
    assert request.headers["x-tenant"] == "t1" and "x-trace" not in request.headers


async def test_a_per_call_http_timeout_bounds_that_call_only() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(1)
        return httpx.Response(200, json=SESSION)

    transport = httpx.MockTransport(slow)
    async with AsyncSessionClient(API, max_retries=0, http_transport=transport) as client:
        with pytest.raises(APITimeoutError, match=r"within 0\.2 s"):
            await client.get_session("s1", http_timeout=0.2)
        assert (await client.get_session("s1"))["session_id"] == "s1"  # the client's 30 s


async def test_with_options_shares_the_connections_and_overrides_retries(
    api: respx.MockRouter,
) -> None:
    route = api.get("/sessions/busy").respond(503, headers={"Retry-After": "0"})
    async with AsyncSessionClient(API, max_retries=2) as client:
        once = client.with_options(max_retries=0, extra_headers={"X-Tenant": "t1"})
        with pytest.raises(InternalServerError):
            await once.get_session("busy")
        assert route.call_count == 1
        assert route.calls.last.request.headers["x-tenant"] == "t1"
        with pytest.raises(InternalServerError):
            await client.get_session("busy")  # the client keeps its own options
        assert route.call_count == 4
        assert once.http_backend == client.http_backend


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"extra_headers": {"X-A": "1\r\nX-B: 2"}}, ValueError),
        ({"extra_headers": ["X-A"]}, TypeError),
        ({"extra_headers": {"X-A: evil": "1"}}, ValueError),
        ({"extra_headers": {"Content-Length": "1"}}, ValueError),
        ({"http_timeout": -1}, ValueError),
        ({"max_retries": -1}, ValueError),
    ],
)
def test_bad_options_are_refused_at_once(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        SessionClient(API).with_options(**options)


async def test_iter_sessions_pages_through_everything() -> None:
    pages = {
        None: {"items": [{**SESSION, "session_id": "a"}], "next_cursor": "c1"},
        "c1": {"items": [{**SESSION, "session_id": "b"}], "next_cursor": "c2"},
        "c2": {"items": [], "next_cursor": None},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["limit"] == "1"
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    transport = httpx.MockTransport(handler)
    async with AsyncSessionClient(API, http_transport=transport) as client:
        found = [s["session_id"] async for s in client.iter_sessions(page_size=1)]
    assert found == ["a", "b"]
    with SessionClient(API, http_transport=transport) as sync_client:
        assert [s["session_id"] for s in sync_client.iter_sessions(page_size=1)] == ["a", "b"]


@pytest.mark.parametrize(("level", "shown"), [("debug", True), ("info", True), ("", False)])
def test_session_client_log_turns_on_the_librarys_logging(level: str, shown: bool) -> None:
    script = (
        "import logging, session_client\n"
        "logging.getLogger('session_client.waits').info('hello from the library')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"SESSION_CLIENT_LOG": level, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert ("hello from the library" in result.stderr) is shown, result.stderr


def test_the_constructors_timeout_is_now_http_timeout() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SessionClient(API, timeout=5)
        AsyncSessionClient(API, timeout=5)
    assert [w.category for w in caught] == [DeprecationWarning] * 2
    assert all(w.filename == __file__ for w in caught)  # pointing at the caller
    assert all(re.search("http_timeout", str(w.message)) for w in caught)
