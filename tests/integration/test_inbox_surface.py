"""The dev inbox's HTTP surface without a browser: what it serves, to whom, and when."""

from __future__ import annotations

import httpx
import pytest

from session_client import SessionClient
from session_client.testing import LocalStack
from session_client.testing.app import create_app
from session_client.testing.service import SessionService
from session_client.testing.store import SessionStore

pytestmark = pytest.mark.integration

STATE = "/_inbox/api/state"


def test_the_page_and_only_its_own_files_are_served(silent_stack: LocalStack) -> None:
    assert silent_stack.inbox_url == silent_stack.api_url + "/_inbox/"
    page = httpx.get(silent_stack.inbox_url)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/_inbox/static/inbox.js"' in page.text
    for name, kind in (("inbox.js", "text/javascript"), ("inbox.css", "text/css")):
        asset = httpx.get(f"{silent_stack.api_url}/_inbox/static/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(kind)
    for name in ("app.py", "..%2Finbox.py", "missing.js"):
        assert httpx.get(f"{silent_stack.api_url}/_inbox/static/{name}").status_code == 404


def test_the_state_feed_answers_only_when_something_changed(
    silent_stack: LocalStack, silent_client: SessionClient
) -> None:
    first = httpx.get(silent_stack.api_url + STATE)
    assert first.status_code == 200
    version = first.json()["version"]
    assert httpx.get(silent_stack.api_url + STATE, params={"since": version}).status_code == 204

    template = {"type": "object", "properties": {"service": {"type": "string"}}}
    schema = {"type": "object", "properties": {"approved": {"type": "boolean"}}}
    silent_client.create_session("surface-idle", subject_id="surface")
    silent_client.create_session("surface-asks", {}, template, subject_id="surface")
    silent_client.send_message("surface-asks", "chat", "Well?", response_schema=schema)
    changed = httpx.get(silent_stack.api_url + STATE, params={"since": version})
    assert changed.status_code == 200
    sessions = changed.json()["sessions"]
    asking = sessions[0]  # awaiting an answer: first, although not the newest
    assert asking["session_id"] == "surface-asks"
    assert [message["message"] for message in asking["messages"]] == ["Well?"]
    # The page renders its form from the message's schema; the data template is no draft.
    assert asking["messages"][0]["response_schema"] == schema
    assert "answer_draft" not in asking
    assert "surface-idle" in [session["session_id"] for session in sessions]


def test_the_answer_is_checked_against_the_response_schema_then_published(
    silent_stack: LocalStack, silent_client: SessionClient
) -> None:
    # The session's data template describes the data, not the answer: it checks no answer.
    template = {"type": "object", "required": ["service"]}
    schema = {"type": "object", "required": ["approved"], "additionalProperties": True}
    silent_client.create_session(
        "surface-answer", {"service": "db"}, template, subject_id="surface"
    )
    sent = silent_client.send_message("surface-answer", "chat", "Yes?", response_schema=schema)
    url = f"{silent_stack.api_url}/_inbox/api/sessions/surface-answer/messages/{sent['message_id']}"
    url += "/answer"

    refused = httpx.post(url, json={"response": {"maybe": True}})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"location": "body", "path": "/response", "message": "'approved' is a required property"}
    ]
    not_json = httpx.post(url, content=b'{"response": {"approved": true}}')  # no content type
    assert not_json.status_code == 415
    assert silent_client.get_message("surface-answer", sent["message_id"])["state"] == "SENT"

    answered = httpx.post(url, json={"response": {"approved": True}})
    assert answered.status_code == 200
    assert answered.json()["state"] == "ANSWERED"
    waited = silent_client.wait_for_response(
        "surface-answer", "surface", sent["message_id"], timeout=10
    )
    assert waited["response"] == {"approved": True}
    assert httpx.post(url, json={"response": {"approved": False}}).status_code == 409


def test_a_name_other_than_loopback_finds_no_inbox(silent_stack: LocalStack) -> None:
    # A web page could rebind its own DNS name to 127.0.0.1 to read the inbox: refused (the
    # whole API refuses such a name, see test_local_stack_guard.py).
    port = silent_stack.api_url.rsplit(":", 1)[1]
    for host, status in (("evil.example", 421), ("localhost", 200), ("127.0.0.1", 200)):
        for path in ("/_inbox/", STATE):
            response = httpx.get(silent_stack.api_url + path, headers={"Host": f"{host}:{port}"})
            assert response.status_code == status, (host, path)


@pytest.mark.parametrize("remote", [False, True])
async def test_other_machines_see_the_inbox_only_when_allowed(remote: bool) -> None:
    store = SessionStore()
    app = create_app(
        SessionService(store),
        api_token="surface-token",
        inbox_remote=remote,
        allowed_hosts=["192.0.2.1"],
    )
    elsewhere = httpx.ASGITransport(app, client=("192.0.2.7", 50000))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://192.0.2.1") as browser:
        assert (await browser.get("/health")).status_code == 200
        assert (await browser.get("/_inbox/")).status_code == (200 if remote else 404)
        assert (await browser.get(STATE)).status_code == (401 if remote else 404)
        token = {"Authorization": "Bearer surface-token"}
        assert (await browser.get(STATE, headers=token)).status_code == (200 if remote else 404)
    store.close()


def test_a_policys_reminders_and_escalations_are_grouped_with_their_message(
    silent_stack: LocalStack, silent_client: SessionClient
) -> None:
    silent_client.create_session("inbox-policy", subject_id="policies")
    silent_client.send_and_wait_for_response(
        "inbox-policy",
        "chat",
        "Ok?",
        "policies",
        0.5,
        message_id="ask",
        reminders=[0.1],
        escalate_to=[(0.2, "boss")],
        on_timeout={"approved": False},
    )
    state = httpx.get(silent_stack.api_url + STATE).json()
    (session,) = [s for s in state["sessions"] if s["session_id"] == "inbox-policy"]
    (message,) = session["messages"]
    assert message["message_id"] == "ask"
    assert [(f["message_id"], f["follow_up"], f["channel_id"]) for f in message["follow_ups"]] == [
        ("ask~r1", "reminder", "chat"),
        ("ask~e1", "escalation", "boss"),
    ]
