"""Bad input fails with ValueError/TypeError before any I/O; defaults come from the documented
environment variables."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from session_client import AsyncSessionClient, SessionClient

API = "http://api.test"
GOOD = {"session_id": "s1", "channel_id": "c1", "message": "hi", "subject_id": "subj"}

BAD_CALLS: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("create_session", {"session_id": ""}, ValueError),
    ("create_session", {"session_id": 42}, TypeError),
    ("create_session", {"session_id": "a/b"}, ValueError),
    ("create_session", {"session_id": "s", "message_data": [1]}, TypeError),
    ("create_session", {"session_id": "s", "message_data": {"x": object()}}, TypeError),
    ("create_session", {"session_id": "s", "message_data": {"x": float("nan")}}, TypeError),
    ("create_session", {"session_id": "s", "message_data_template": "str"}, TypeError),
    ("create_session", {"session_id": "s", "expiry_date": "tomorrow"}, TypeError),
    ("create_session", {"session_id": "s", "expiry_date": True}, TypeError),
    ("create_session", {"session_id": "s", "expiry_date": -1}, ValueError),
    ("create_session", {"session_id": "s", "subject_id": "a.*"}, ValueError),
    ("get_session", {"session_id": " "}, ValueError),
    ("list_sessions", {"limit": 0}, ValueError),
    ("list_sessions", {"status": "OPEN"}, ValueError),
    ("list_sessions", {"subject_id": "a b"}, ValueError),
    ("send_message", {"session_id": "s", "channel_id": "", "message": "m"}, ValueError),
    ("send_message", {"session_id": "s", "channel_id": "c", "message": ""}, ValueError),
    ("send_message", {"session_id": "s", "channel_id": "c", "message": b"m"}, TypeError),
    ("get_message", {"session_id": "s", "message_id": ".."}, ValueError),
    ("submit_response", {"session_id": "s", "message_id": "m", "response": "yes"}, TypeError),
    ("reject_session", {"session_id": None}, TypeError),
    # Refused before anything is sent (were: a raw httpx.InvalidURL, RecursionError, a
    # "malformed API response" for a request never sent, or silently {}).
    ("list_sessions", {"cursor": "c" * 100_000}, ValueError),
    ("create_session", {"session_id": "s", "message_data": {"x": "\ud800"}}, ValueError),
    ("create_session", {"session_id": "s", "message_data": []}, TypeError),
    ("create_session", {"session_id": "s", "message_data": ""}, TypeError),
    ("create_session", {"session_id": "s", "message_data": 0}, TypeError),
    ("create_session", {"session_id": "s", "message_data": {"x": "a" * 262_137}}, ValueError),
    (
        "create_session",
        {"session_id": "s", "message_data_template": {"x": "a" * 65_529}},
        ValueError,
    ),
    ("create_session", {"session_id": "s\ud800"}, ValueError),
    ("send_message", {"session_id": "s", "channel_id": "c", "message": "a\ud800"}, ValueError),
    (
        "submit_response",
        {"session_id": "s", "message_id": "m", "response": {"\udfff": 1}},
        ValueError,
    ),
    *[
        ("send_and_wait_for_response", {**GOOD, "subject_id": bad}, ValueError)
        for bad in ["", "a b", "*", ">", "a.>", "a..b", "a.", "a\n", "x" * 200]
    ],
    ("send_and_wait_for_response", {**GOOD, "subject_id": None}, TypeError),
    ("send_and_wait_for_response", {**GOOD, "timeout": 0}, ValueError),
    ("send_and_wait_for_response", {**GOOD, "timeout": -5}, ValueError),
    ("send_and_wait_for_response", {**GOOD, "timeout": float("inf")}, ValueError),
    ("send_and_wait_for_response", {**GOOD, "timeout": "60"}, TypeError),
    ("send_and_wait_for_response", {**GOOD, "session_id": ""}, ValueError),
    ("wait_for_response", {"session_id": "s", "subject_id": "a.*.b"}, ValueError),
    ("wait_for_response", {"session_id": "s", "subject_id": "ok", "message_id": ""}, ValueError),
    ("wait_for_response", {"session_id": "s", "subject_id": "ok", "timeout": 0}, ValueError),
    (
        "send_message",
        {"session_id": "s", "channel_id": "c", "message": "m", "message_id": ""},
        ValueError,
    ),
    (
        "send_message",
        {"session_id": "s", "channel_id": "c", "message": "m", "message_id": 5},
        TypeError,
    ),
    ("send_and_wait_for_response", {**GOOD, "message_id": "a b"}, ValueError),
    ("send_and_wait_for_response", {**GOOD, "message_id": "x" * 129}, ValueError),
    # Too large for a float: still the documented ValueError, not OverflowError.
    ("send_and_wait_for_response", {**GOOD, "timeout": 10**400}, ValueError),
    ("wait_for_response", {"session_id": "s", "subject_id": "ok", "timeout": 10**400}, ValueError),
]


@pytest.mark.parametrize(("method", "kwargs", "error"), BAD_CALLS)
async def test_bad_input_raises_before_any_io(
    method: str, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        async with AsyncSessionClient(API, ["nats://127.0.0.1:1"]) as client:
            with pytest.raises(error):
                await getattr(client, method)(**kwargs)
            assert client.nats_connection is None
        assert mock.calls.call_count == 0


def test_sync_client_raises_the_same_errors_before_io() -> None:
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        with SessionClient(API, ["nats://127.0.0.1:1"]) as client:
            with pytest.raises(ValueError, match="subject_id"):
                client.send_and_wait_for_response("s", "c", "m", "a.*")
            with pytest.raises(TypeError):
                client.create_session(session_id=1)  # type: ignore[arg-type]
        assert mock.calls.call_count == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"api_base_url": "localhost:8000"}, ValueError),
        ({"api_base_url": 8000}, TypeError),
        ({"api_base_url": API, "nats_servers": ["http://x"]}, ValueError),
        ({"api_base_url": API, "nats_servers": []}, ValueError),
        ({"api_base_url": API, "nats_servers": [1]}, TypeError),
        ({"api_base_url": API, "max_retries": -1}, ValueError),
        ({"api_base_url": API, "http_timeout": 0}, ValueError),
        ({"api_base_url": API, "http_timeout": 10**400}, ValueError),
        # Checked at construction, not at the first call (each raised something else there).
        ({"api_base_url": API, "http_timeout": httpx.Timeout(-1)}, ValueError),
        ({"api_base_url": API, "http_timeout": "30"}, TypeError),
        ({"api_base_url": API, "verify": "/no/such/ca.pem"}, ValueError),
        ({"api_base_url": API, "verify": 3}, TypeError),
        ({"api_base_url": API, "http_transport": object()}, TypeError),
        ({"api_base_url": API, "api_key": "tok\r\nX-Evil: 1"}, ValueError),
        ({"api_base_url": API, "api_key": "clé"}, ValueError),
        ({"api_base_url": "http://127.0.0.1:99999"}, ValueError),
        # Credentials in the URL would become Basic auth over the bearer token, and be logged.
        ({"api_base_url": "http://user:secret@api.test"}, ValueError),
        ({"api_base_url": "https://token@api.test"}, ValueError),
        ({"api_base_url": API, "subject_template": "a.*.{subject_id}"}, ValueError),
        ({"api_base_url": API, "subject_template": "no.placeholder"}, ValueError),
    ],
)
def test_bad_construction_arguments(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        SessionClient(**kwargs)


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
@pytest.mark.parametrize("make", [SessionClient, AsyncSessionClient])
def test_a_bad_max_response_bytes_is_refused(
    make: type[SessionClient | AsyncSessionClient], value: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="max_response_bytes must be"):
        make(API, max_response_bytes=value)  # type: ignore[arg-type]


def test_nats_servers_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORG_NATS_URL", raising=False)
    assert SessionClient(API).nats_servers == ["nats://127.0.0.1:4222"]


def test_nats_servers_from_org_nats_url_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORG_NATS_URL", "nats://a:4222, nats://b:4222,tls://c:4443")
    assert SessionClient(API).nats_servers == ["nats://a:4222", "nats://b:4222", "tls://c:4443"]


def test_explicit_nats_servers_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORG_NATS_URL", "nats://env:4222")
    assert SessionClient(API, ["nats://arg:4222"]).nats_servers == ["nats://arg:4222"]


def test_construction_does_no_io() -> None:
    # Nothing listens on port 1: construction must still succeed, and closing too.
    client = SessionClient("http://127.0.0.1:1", ["nats://127.0.0.1:1"])
    assert client.async_client.nats_connection is None
    client.close()
    client.close()


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_a_missing_ca_bundle_of_the_environment_is_refused_at_construction(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "/no/such/ca")
    with pytest.raises(ValueError, match=variable):
        SessionClient(API)
