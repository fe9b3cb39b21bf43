"""The facade's real traffic, proxied through Prism with validation errors on: zero violations."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from session_client import AsyncSessionClient, ConflictError, NotFoundError, SessionRejectedError
from session_client.testing import LocalStack

from ..ports import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / "node_modules" / ".bin" / "prism"


class RecordingTransport(httpx.AsyncBaseTransport):
    """Keeps every response that passed through Prism, to inspect its validation verdict."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.responses: list[httpx.Response] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        kept = httpx.Response(response.status_code, headers=response.headers, content=raw)
        kept.request = request
        self.responses.append(kept)
        # The client reads the body as it came (stream=: not read, not decoded here).
        return httpx.Response(
            response.status_code, headers=response.headers, stream=httpx.ByteStream(raw)
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(scope="module")
def prism() -> Iterator[tuple[str, LocalStack]]:
    assert PRISM.exists(), "Prism is missing: 'make test' installs it with npm ci"
    with LocalStack() as stack:
        port = free_port()
        log = (ROOT / ".pytest_cache").resolve()
        log.mkdir(exist_ok=True)
        with open(log / "prism.log", "wb") as output:
            process = subprocess.Popen(
                [
                    str(PRISM),
                    "proxy",
                    str(ROOT / "openapi.yaml"),
                    stack.api_url,
                    "--errors",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, (log / "prism.log").read_text()
                assert time.monotonic() < deadline, "Prism did not start"
                time.sleep(0.2)
            # The stack's NATS is used directly; only HTTP goes through Prism.
            yield url, stack
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def test_facade_traffic_has_no_contract_violations(
    prism: tuple[str, LocalStack],
) -> None:
    api_url, stack = prism
    recorder = RecordingTransport()
    async with AsyncSessionClient(api_url, [stack.nats_url], http_transport=recorder) as client:
        await client.create_session(
            "prism-1",
            message_data={"a": 1},
            message_data_template={"type": "object"},
            expiry_date=4102444800,
            subject_id="prism.subject",
        )
        await client.create_session(
            "prism-1", {"a": 1}, {"type": "object"}, 4102444800, "prism.subject"
        )
        with pytest.raises(ConflictError):
            await client.create_session("prism-1", {"a": 2})
        await client.get_session("prism-1")
        await client.list_sessions(status="ACTIVE", subject_id="prism.subject", limit=5)
        answer = await client.send_and_wait_for_response(
            "prism-1", "chan", "ok?", "prism.subject", timeout=20
        )
        await client.get_message("prism-1", answer["message_id"])
        with pytest.raises(ConflictError):
            await client.submit_response("prism-1", answer["message_id"], {"again": True})
        resumed = await client.wait_for_response(
            "prism-1", "prism.subject", answer["message_id"], timeout=5
        )
        assert resumed["message_id"] == answer["message_id"]
        stack.human.stay_silent_next()
        sent = await client.send_message("prism-1", "chan", "manual")
        await client.submit_response("prism-1", sent["message_id"], {"manual": True})
        with pytest.raises(NotFoundError):
            await client.get_session("prism-missing")
        with pytest.raises(NotFoundError):
            await client.get_message("prism-1", "msg-missing")
        await client.create_session("prism-2", subject_id="prism.subject")
        rejecting = asyncio.create_task(
            client.send_and_wait_for_response("prism-2", "chan", "m", "prism.other", timeout=20)
        )
        await asyncio.sleep(0.5)
        await client.reject_session("prism-2")
        await client.reject_session("prism-2")
        rejecting.cancel()
        await asyncio.gather(rejecting, return_exceptions=True)
        with pytest.raises(SessionRejectedError):
            await client.wait_for_response("prism-2", "prism.other", timeout=5)
        await client.create_session("prism-3", expiry_date=1)
        assert "prism-3" in (await client.expire_sessions())["session_ids"]
        with pytest.raises(ConflictError):
            await client.reject_session("prism-3")

    assert len(recorder.responses) >= 20
    violations = [
        (r.request.method, r.request.url.path, r.status_code, r.headers.get("sl-violations"))
        for r in recorder.responses
        if "sl-violations" in r.headers or b"stoplight.io/prism" in r.content
    ]
    assert violations == []
