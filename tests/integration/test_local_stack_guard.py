"""No web page reaches the local stack's API (issue 26, item 2), over plain HTTP: a request
naming another host (DNS rebinding: ``evil.test`` resolving to 127.0.0.1) is refused, unless
the stack was told to allow it, and a page of another origin cannot change state. The browser
itself is in tests/browser/test_cross_origin.py; bodies other than JSON in
test_reference_server_input.py."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from session_client.testing import LocalStack, SimulatedHuman

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def guarded() -> Iterator[LocalStack]:
    with LocalStack(human=SimulatedHuman(silent=True), allowed_hosts=["devbox.test"]) as stack:
        yield stack


def open_message(api_url: str, session_id: str) -> str:
    assert httpx.post(f"{api_url}/sessions", json={"session_id": session_id}).status_code == 201
    sent = httpx.post(
        f"{api_url}/sessions/{session_id}/messages", json={"channel_id": "c", "message": "?"}
    )
    message_id: str = sent.json()["message_id"]
    return message_id


def test_a_rebound_dns_name_reads_and_changes_nothing(guarded: LocalStack) -> None:
    url, port = guarded.api_url, guarded.api_url.rsplit(":", 1)[1]
    message_id = open_message(url, "rebinding-victim")
    evil = {"Host": f"evil.test:{port}"}
    listed = httpx.get(f"{url}/sessions", headers=evil)
    assert listed.status_code == 421
    assert listed.json()["type"] == "urn:session-api:host-not-allowed"
    assert "rebinding-victim" not in listed.text
    answered = httpx.post(
        f"{url}/sessions/rebinding-victim/messages/{message_id}/response",
        json={"response": {"pwned": True}},
        headers={**evil, "Origin": f"http://evil.test:{port}"},
    )
    assert answered.status_code == 421
    assert (
        httpx.get(f"{url}/sessions/rebinding-victim/messages/{message_id}").json()["state"]
        == "SENT"
    )


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.2", "[::1]", "devbox.test"])
def test_loopback_names_and_allowed_hosts_are_answered(guarded: LocalStack, host: str) -> None:
    port = guarded.api_url.rsplit(":", 1)[1]
    response = httpx.get(f"{guarded.api_url}/health", headers={"Host": f"{host}:{port}"})
    assert response.status_code == 200


def test_a_page_of_another_origin_cannot_change_state(guarded: LocalStack) -> None:
    url = guarded.api_url
    message_id = open_message(url, "cross-origin")
    path = f"{url}/sessions/cross-origin/messages/{message_id}/response"
    for origin in ("http://evil.test", "null", url.replace("http:", "https:")):
        refused = httpx.post(path, json={"response": {"a": 1}}, headers={"Origin": origin})
        assert refused.status_code == 403, origin
        assert refused.json()["type"] == "urn:session-api:cross-origin"
        rejected = httpx.post(f"{url}/sessions/cross-origin/reject", headers={"Origin": origin})
        assert rejected.status_code == 403, origin
    assert httpx.get(f"{url}/sessions/cross-origin").json()["status"] == "ACTIVE"
    # Reading needs no Origin check (the browser keeps a foreign page from reading the answer).
    assert httpx.get(f"{url}/sessions", headers={"Origin": "http://evil.test"}).status_code == 200
    # The stack's own pages (the dev inbox) may.
    same = httpx.post(path, json={"response": {"a": 1}}, headers={"Origin": url})
    assert same.status_code == 200


def test_any_host_when_told(guarded: LocalStack) -> None:
    with LocalStack(nats_url=guarded.nats_url, allowed_hosts=["*"]) as anything:
        port = anything.api_url.rsplit(":", 1)[1]
        headers = {"Host": f"devbox.elsewhere:{port}"}
        assert httpx.get(f"{anything.api_url}/sessions", headers=headers).status_code == 200
