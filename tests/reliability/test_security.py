"""Scenario 7: the API token never shows in logs (DEBUG), repr or exception text; HTTPS and
NATS TLS are verified against a test CA, verification on by default; subjects that could widen
a subscription are refused before any I/O."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import trustme

from session_client import (
    APIConnectionError,
    AsyncSessionClient,
    AuthenticationError,
    SessionClient,
    SessionClientError,
)
from session_client.testing import Faults, LocalStack, NatsServer, ReferenceServer

from .conftest import CountingTransport

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

TOKEN = "tok-9f8e7d6c5b4a39281706"
NATS_PASSWORD = "natspw-5a4b3c2d1e"
BAD_SUBJECTS = ["a.*", "a.>", ">", "*", "a b", " a", "a\t", "a\n", "a..b", ".a", "a.", ""]


def exception_text(exc: BaseException) -> str:
    """Everything an exception shows: str, repr, args and traceback, with its whole chain."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


@pytest.mark.usefixtures("http_backend")
async def test_token_never_in_logs_repr_or_exceptions(
    caplog: pytest.LogCaptureFixture, figures: Callable[..., None]
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    faults = Faults(unavailable=0.3, seed=7)  # retries log too
    with LocalStack(api_token=TOKEN, faults=faults) as stack:
        stack.human.answer_with({"ok": True})
        servers = [stack.nats_url.replace("nats://", f"nats://alice:{NATS_PASSWORD}@")]
        clients = [
            AsyncSessionClient(stack.api_url, [stack.nats_url], api_key=TOKEN, max_retries=6),
            AsyncSessionClient(stack.api_url, [stack.nats_url], api_key="wrong-" + TOKEN[::-1]),
            AsyncSessionClient("http://127.0.0.1:9", servers, api_key=TOKEN, max_retries=1),
        ]
        good, wrong, unreachable = clients
        reprs = [repr(client) for client in clients]
        reprs.append(repr(SessionClient(stack.api_url, servers, api_key=TOKEN)))
        await good.create_session("sec-1", subject_id="sec.a")
        await good.send_and_wait_for_response("sec-1", "c", "hello", "sec.a", 10)
        calls = [
            good.get_session("missing"),
            good.wait_for_response("sec-1", "sec.a", "msg_missing", 5),
            good.send_and_wait_for_response("missing", "c", "x", "sec.a", 5),
            wrong.get_session("sec-1"),
            wrong.send_and_wait_for_response("sec-1", "c", "x", "sec.a", 5),
            unreachable.create_session("sec-2"),
            unreachable.wait_for_response("sec-1", "sec.a", None, 0.5),
        ]
        for call in calls:
            try:
                await call
            except SessionClientError as exc:
                errors.append(exc)
        for client in clients:
            await client.aclose()
    kinds = sorted({type(exc).__name__ for exc in errors})
    logs = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    texts = [logs, *reprs, *(exception_text(exc) for exc in errors)]
    leaks = sum(TOKEN in text or NATS_PASSWORD in text for text in texts)
    figures(
        "7a. Secrets in logs / repr / exceptions",
        expected=len(texts),
        delivered=len(texts) - leaks,
        log_records=len(caplog.records),
        exceptions=kinds,
    )
    # Enough to look through (httpcore's own DEBUG records come on top with httpx's transport).
    assert len(caplog.records) > 10 and len(errors) == len(calls)
    assert any(record.name == "session_client.retries" for record in caplog.records)
    assert any(isinstance(exc, AuthenticationError) for exc in errors)
    assert any(isinstance(exc, APIConnectionError) for exc in errors)
    assert leaks == 0


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[trustme.CA, Path, Path]]:
    """A test CA and a server certificate for 127.0.0.1 (key, cert chain) in PEM files."""
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    directory = tmp_path_factory.mktemp("tls")
    key, chain = directory / "key.pem", directory / "chain.pem"
    issued.private_key_pem.write_to_path(str(key))
    issued.cert_chain_pems[0].write_to_path(str(chain))
    for pem in issued.cert_chain_pems[1:]:
        pem.write_to_path(str(chain), append=True)
    yield authority, key, chain


def trusting(authority: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test CA (and only with verification on)."""
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


@pytest.mark.usefixtures("http_backend")
async def test_https_is_verified_against_the_ca_and_by_default(
    ca: tuple[trustme.CA, Path, Path], figures: Callable[..., None]
) -> None:
    authority, key, chain = ca
    with LocalStack(ssl_certfile=str(chain), ssl_keyfile=str(key)) as stack:
        assert stack.api_url.startswith("https://")
        async with AsyncSessionClient(stack.api_url, [stack.nats_url], max_retries=0) as default:
            with pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
                await default.create_session("tls-default")
        async with AsyncSessionClient(
            stack.api_url, [stack.nats_url], verify=trusting(authority)
        ) as verified:
            await verified.create_session("tls-1", subject_id="tls.a")
            answer = await verified.send_and_wait_for_response("tls-1", "c", "hi", "tls.a", 10)
    figures("7b. HTTPS against a test CA", expected=1, delivered=int(answer["response"] != {}))
    assert answer["session_id"] == "tls-1"


async def test_nats_tls_is_verified_against_the_ca_and_by_default(
    ca: tuple[trustme.CA, Path, Path],
    figures: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    authority, key, chain = ca
    tls_args = ["--tls", "--tlscert", str(chain), "--tlskey", str(key)]
    with (
        NatsServer(jetstream=False, extra_args=tls_args) as nats_server,
        ReferenceServer() as server,  # REST only: the test publishes the answer itself
    ):
        tls_url = nats_server.url.replace("nats://", "tls://")
        async with AsyncSessionClient(server.url, [tls_url]) as default:
            # Verification on by default: the test CA is not trusted, nothing gets through.
            with pytest.raises(SessionClientError):
                await default.wait_for_response("none", "tls.a", None, 1.5)
        assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
        context = trusting(authority)
        async with AsyncSessionClient(
            server.url, [tls_url], nats_options={"tls": context}
        ) as client:
            await client.create_session("ntls-1", subject_id="ntls.a")
            sent = await client.send_message("ntls-1", "c", "hi")
            waiting = asyncio.create_task(
                client.wait_for_response("ntls-1", "ntls.a", sent["message_id"], 10)
            )
            publisher = await nats.connect(tls_url, tls=context)
            payload = {**answer_for(sent), "response": {"over": "tls"}}
            try:
                # Until the wait has subscribed and got it (the waiter drops repeats).
                while not waiting.done():
                    await publisher.publish(
                        "sessions.responses.ntls.a.ntls-1", json.dumps(payload).encode()
                    )
                    await asyncio.wait((waiting,), timeout=0.2)
                answer = await waiting
            finally:
                await publisher.close()
    figures("7c. NATS TLS against a test CA", expected=1, delivered=int(answer == payload))
    assert answer == payload


def answer_for(message: dict[str, Any]) -> dict[str, Any]:
    """A ResponsePayload for ``message`` (``asyncapi.yaml``)."""
    return {
        "session_id": message["session_id"],
        "message_id": message["message_id"],
        "channel_id": message["channel_id"],
        "subject_id": message["subject_id"],
        "response": {},
        "responded_at": "2026-11-25T00:00:00Z",
    }


@pytest.mark.parametrize("subject", BAD_SUBJECTS)
async def test_wildcard_and_whitespace_subjects_are_refused_before_io(subject: str) -> None:
    transport = CountingTransport()
    async with AsyncSessionClient(
        "http://127.0.0.1:9", ["nats://127.0.0.1:9"], http_transport=transport
    ) as client:
        calls = [
            client.send_and_wait_for_response("s", "c", "m", subject, 1),
            client.wait_for_response("s", subject, None, 1),
            client.create_session("s", subject_id=subject),
            client.send_message("s", "c", "m", subject_id=subject),
            client.list_sessions(subject_id=subject),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="subject_id"):
                await call
        assert transport.requests == 0 and client.nats_connection is None
    with pytest.raises(ValueError):
        AsyncSessionClient("http://x", subject_template=f"sessions.{subject}.{{subject_id}}")
