"""The HTTP backends (httpx, aiohttp, httpx2) behave the same: each test of the failures, the
pool, proxies, TLS and the lifecycle runs once per backend, against real sockets on loopback."""

from __future__ import annotations

import asyncio
import gc
import logging
import ssl
import subprocess
import sys
import warnings
import weakref
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from session_client import (
    APIConnectionError,
    APITimeoutError,
    AsyncSessionClient,
    InternalServerError,
    SessionClient,
)
from session_client._rest import MAX_CONNECTIONS
from session_client.testing import LocalStack
from tests.hostile_http import HostileServer, Reply, json_body, session_record

from .conftest import unique

pytestmark = pytest.mark.integration


def get_session(url: str, **options: Any) -> Any:
    """``get_session("s1")`` with a new async client: what it returned or raised."""

    async def run() -> Any:
        async with AsyncSessionClient(url, ["nats://127.0.0.1:1"], **options) as client:
            return await client.get_session("s1")

    try:
        return asyncio.run(run())
    except Exception as exc:
        return exc


def raw(data: bytes) -> Reply:
    """Send ``data`` as it is, then close."""

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    return reply


# What a server can do instead of answering: each is a connection error, retried for a GET.
BROKEN = {
    "closes at once": raw(b""),
    "cuts the body": raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{"),
    "speaks no HTTP": raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
}


@pytest.mark.parametrize("reply", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_reply_is_retried_then_an_api_connection_error(
    http_backend: str, reply: Reply
) -> None:
    with HostileServer(reply) as server:
        outcome = get_session(server.url, max_retries=1)
        assert type(outcome) is APIConnectionError, outcome
    # aiohttp itself sends a GET once more when the connection drops before any answer
    # (RFC 9112, 9.3.1.1; README, "The HTTP backend"): two of its sends per attempt.
    dropped = http_backend == "aiohttp" and reply is BROKEN["closes at once"]
    assert server.requests == (4 if dropped else 2)


def test_a_refused_connection_is_an_api_connection_error(http_backend: str) -> None:
    with HostileServer(raw(b"")) as server:
        url = server.url  # the port is free once the server is gone
    outcome = get_session(url, max_retries=0)
    assert type(outcome) is APIConnectionError, outcome


def test_a_503_is_retried_and_the_answer_after_it_returned(http_backend: str) -> None:
    answer = json_body(session_record())
    replies = 0

    async def reply(writer: asyncio.StreamWriter) -> None:
        nonlocal replies
        replies += 1
        if replies == 1:
            head = "HTTP/1.1 503 Busy\r\nRetry-After: 0\r\nContent-Length: 0\r\n"
            writer.write(f"{head}Connection: close\r\n\r\n".encode())
            return
        await answer(writer)

    with HostileServer(reply) as server:
        assert get_session(server.url, max_retries=1) == session_record()
        assert server.requests == 2
        assert isinstance(get_session(server.url, max_retries=0), dict)  # 3rd: answered


def test_a_503_past_the_retries_is_an_internal_server_error(http_backend: str) -> None:
    with HostileServer(raw(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")) as server:
        outcome = get_session(server.url, max_retries=0)
        assert isinstance(outcome, InternalServerError), outcome


def test_the_pool_holds_at_most_max_connections(http_backend: str) -> None:
    open_now = most = 0
    answer = json_body(session_record())

    async def reply(writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        await asyncio.sleep(0.3)  # long enough for the pool to fill on a busy machine
        await answer(writer)
        open_now -= 1

    calls = 2 * MAX_CONNECTIONS + 5

    async def many(url: str) -> list[Any]:
        async with AsyncSessionClient(url, ["nats://127.0.0.1:1"]) as client:
            return await asyncio.gather(*(client.get_session("s1") for _ in range(calls)))

    with HostileServer(reply) as server:
        assert asyncio.run(many(server.url)) == [session_record()] * calls
    assert most == MAX_CONNECTIONS


def test_read_timeouts_are_api_timeout_errors(http_backend: str) -> None:
    async def silent(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)

    with HostileServer(silent) as server:
        outcome = get_session(server.url, http_timeout=httpx.Timeout(5, read=0.3), max_retries=0)
        assert isinstance(outcome, APITimeoutError), outcome
        assert f"the API at {server.url} did not answer in time" in str(outcome)


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A local stack serving HTTPS with a certificate of a test CA, and the CA's PEM file."""
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    directory = tmp_path_factory.mktemp("tls")
    key, chain, ca = directory / "key.pem", directory / "chain.pem", directory / "ca.pem"
    issued.private_key_pem.write_to_path(str(key))
    for index, pem in enumerate(issued.cert_chain_pems):
        pem.write_to_path(str(chain), append=index > 0)
    authority.cert_pem.write_to_path(str(ca))
    with LocalStack(ssl_certfile=str(chain), ssl_keyfile=str(key)) as stack:
        yield stack, ca


def test_verify_takes_a_ca_bundle_path_or_false(http_backend: str, tls_stack: Any) -> None:
    stack, ca = tls_stack

    def create(verify: Any) -> Any:
        sid = unique("tls")
        with SessionClient(stack.api_url, [stack.nats_url], verify=verify) as client:
            try:
                return client.create_session(sid)["session_id"] == sid
            except APIConnectionError as exc:
                return exc

    assert create(str(ca)) is True
    assert create(False) is True
    assert create(ssl.create_default_context(cafile=str(ca))) is True
    refused = create(True)
    assert isinstance(refused, APIConnectionError) and "CERTIFICATE_VERIFY_FAILED" in str(refused)


def test_closing_leaves_nothing_unclosed_in_any_loop(
    http_backend: str, stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    """Closed clients, and an async client that moved to a second ``asyncio.run``, report
    no unclosed session or connector (aiohttp's warnings and loop errors)."""

    async def ask(client: AsyncSessionClient) -> None:
        await client.create_session(unique("life"))

    # What earlier tests left for the collector would otherwise be reported here: CI once saw
    # an asyncio StreamWriter of a closed loop (its "loop is closed"), which these clients
    # do not use (nats-py and the test servers do).
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SessionClient(stack.api_url, [stack.nats_url]) as sync_client:
            sync_client.create_session(unique("life"))
        moving = AsyncSessionClient(stack.api_url, [stack.nats_url])
        asyncio.run(ask(moving))
        asyncio.run(ask(moving))  # the first run's connections are let go
        asyncio.run(moving.aclose())
        del moving
        gc.collect()
    unclosed = [
        str(w.message)
        for w in caught
        if "unclosed" in str(w.message).lower() or issubclass(w.category, ResourceWarning)
    ]
    unclosed += [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert unclosed == []


def test_verify_true_trusts_ssl_cert_file(
    http_backend: str, tls_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, ca = tls_stack
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    with SessionClient(stack.api_url, [stack.nats_url]) as client:
        assert client.create_session(unique("tls-env"))["status"] == "ACTIVE"


@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy"])
def test_requests_go_through_the_proxy_of_the_environment(
    http_backend: str, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # The proxy answers for any host: api.invalid never resolves, so only a proxied call
    # can succeed.
    for variable in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    with HostileServer(json_body(session_record())) as proxy:
        monkeypatch.setenv(name, proxy.url)
        assert get_session("http://api.invalid:9", max_retries=0) == session_record()
    assert proxy.request_lines == ["GET http://api.invalid:9/sessions/s1 HTTP/1.1"]


def test_no_proxy_is_honoured(http_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("http_proxy", "ALL_PROXY", "all_proxy", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    with (
        HostileServer(json_body(session_record())) as proxy,
        HostileServer(json_body(session_record())) as server,
    ):
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert get_session(server.url, max_retries=0) == session_record()
    assert (proxy.requests, server.request_lines) == (0, ["GET /sessions/s1 HTTP/1.1"])


@pytest.mark.parametrize("name", ["httpx", "httpx2"])
def test_http_transport_is_used_by_the_httpx_backends(name: str) -> None:
    httpx_module = __import__(name)

    class Counting(httpx_module.AsyncHTTPTransport):  # type: ignore[misc,name-defined]
        requests = 0

        async def handle_async_request(self, request: Any) -> Any:
            Counting.requests += 1
            return await super().handle_async_request(request)

    with HostileServer(json_body(session_record())) as server:
        outcome = get_session(server.url, http_backend=name, http_transport=Counting())
        assert outcome == session_record()
    assert Counting.requests == 1


def test_the_backend_is_imported_on_first_use(http_backend: str, tmp_path: Path) -> None:
    script = """
import asyncio, sys
import session_client
from session_client import AsyncSessionClient
print(sys.argv[2] in sys.modules)
client = AsyncSessionClient(sys.argv[1], ["nats://127.0.0.1:1"], max_retries=0)
print(sys.argv[2] in sys.modules)
async def run():
    async with client:
        return await client.get_session("s1")
print(asyncio.run(run())["session_id"], sys.argv[2] in sys.modules)
"""
    with HostileServer(json_body(session_record())) as server:
        out = subprocess.run(
            [sys.executable, "-c", script, server.url, http_backend],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split("\n")
    assert out[:3] == ["False", "False", "s1 True"]


def test_a_longer_per_call_http_timeout_is_honoured(http_backend: str) -> None:
    # The backend's own connect/read timeouts follow the call's, not only the deadline.
    async def late(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1.0)
        await json_body(session_record())(writer)

    async def run(url: str) -> Any:
        async with AsyncSessionClient(url, max_retries=0, http_timeout=0.3) as client:
            return await client.get_session("s1", http_timeout=5)

    with HostileServer(late) as server:
        assert asyncio.run(run(server.url)) == session_record()


def test_extra_headers_replace_the_clients_whatever_their_case(http_backend: str) -> None:
    extra = {"authorization": "Bearer other", "USER-AGENT": "mine", "Idempotency-Key": "k1"}

    async def run(url: str) -> Any:
        async with AsyncSessionClient(url, api_key="tok", max_retries=0) as client:
            return await client.get_session("s1", extra_headers=extra)

    with HostileServer(json_body(session_record())) as server:
        assert asyncio.run(run(server.url)) == session_record()
        (headers,) = server.request_headers
    names = [name for name, _ in headers]
    assert names.count("authorization") == names.count("user-agent") == 1, headers
    assert ("authorization", "Bearer other") in headers and ("user-agent", "mine") in headers
    assert names.count("idempotency-key") == 1


def test_a_call_leaves_nothing_on_the_callers_task(http_backend: str) -> None:
    # httpcore's anyio streams record state on the task they run in (under a weak reference
    # to it), kept as long as that task lives: a waiting caller's, until its answer comes.
    async def run(url: str) -> tuple[int, int]:
        task = asyncio.current_task()
        async with AsyncSessionClient(url, max_retries=0) as client:
            before = weakref.getweakrefcount(task)
            await client.get_session("s1")
            return before, weakref.getweakrefcount(task)

    with HostileServer(json_body(session_record())) as server:
        before, after = asyncio.run(run(server.url))
    assert after == before


def test_a_with_options_copy_follows_the_client_to_a_new_event_loop(
    http_backend: str, stack: LocalStack
) -> None:
    # The stack keeps connections alive: a copy left on the first loop's would fail.
    sid = unique("loops")

    async def ask(client: AsyncSessionClient) -> str:
        return (await client.get_session(sid))["session_id"]

    client = AsyncSessionClient(stack.api_url, [stack.nats_url], max_retries=0)
    tuned = client.with_options(http_timeout=5)
    asyncio.run(client.create_session(sid))
    assert asyncio.run(ask(tuned)) == sid  # a new loop: new connections, for both
    assert asyncio.run(ask(client)) == sid
    assert asyncio.run(ask(tuned)) == sid
    asyncio.run(tuned.aclose())
