"""REST edge cases with respx: status mapping, retries, Retry-After, idempotency, redaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from session_client import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncSessionClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    UnprocessableEntityError,
)
from session_client._rest import _retries

from .records import MESSAGE, SESSION

API = "http://api.test"


def problem(status: int) -> httpx.Response:
    body = {"type": "urn:x", "title": "Nope", "status": status, "detail": "because"}
    return httpx.Response(
        status,
        json=body,
        headers={"content-type": "application/problem+json", "x-request-id": "req_42"},
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the backoff delays the retries chose, and wait none of them."""
    recorded: list[float] = []
    chosen = _retries.backoff

    def backoff(attempt: int, retry_after: str | None) -> float:
        recorded.append(chosen(attempt, retry_after))
        return 0.0

    monkeypatch.setattr(_retries, "backoff", backoff)
    return recorded


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


def client(**kwargs: Any) -> AsyncSessionClient:
    return AsyncSessionClient(API, ["nats://127.0.0.1:1"], **kwargs)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, RequestTooLargeError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIError),
    ],
)
async def test_status_maps_to_its_error_class(
    mock: respx.MockRouter, sleeps: list[float], status: int, error: type[APIError]
) -> None:
    mock.get("/sessions/s1").mock(return_value=problem(status))
    async with client(max_retries=0) as api:
        with pytest.raises(error) as raised:
            await api.get_session("s1")
    assert type(raised.value) is error
    assert raised.value.status_code == status
    assert raised.value.request_id == "req_42"
    assert raised.value.problem is not None and raised.value.problem["detail"] == "because"
    assert "because" in str(raised.value) and "req_42" in str(raised.value)


async def test_non_json_error_body_still_maps(mock: respx.MockRouter) -> None:
    mock.get("/sessions/s1").mock(return_value=httpx.Response(404, text="<html>gone</html>"))
    async with client() as api:
        with pytest.raises(NotFoundError) as raised:
            await api.get_session("s1")
    assert raised.value.problem is None


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
async def test_retryable_statuses_are_retried_then_succeed(
    mock: respx.MockRouter, sleeps: list[float], status: int
) -> None:
    route = mock.get("/sessions/s1").mock(
        side_effect=[problem(status), problem(status), httpx.Response(200, json=SESSION)]
    )
    async with client() as api:
        assert (await api.get_session("s1"))["session_id"] == "s1"
    assert route.call_count == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 1.4  # exponential, jittered


async def test_retries_are_bounded_by_max_retries(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get("/sessions/s1").mock(return_value=problem(503))
    async with client(max_retries=3) as api:
        with pytest.raises(InternalServerError):
            await api.get_session("s1")
    assert route.call_count == 4


async def test_retry_after_is_honoured(mock: respx.MockRouter, sleeps: list[float]) -> None:
    limited = problem(429)
    limited.headers["retry-after"] = "3"
    mock.get("/sessions/s1").mock(side_effect=[limited, httpx.Response(200, json=SESSION)])
    async with client() as api:
        await api.get_session("s1")
    assert sleeps == [3.0]


async def test_posts_carry_an_idempotency_key_and_retries_reuse_it(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.post("/sessions/s1/messages").mock(
        side_effect=[problem(503), httpx.ConnectError("reset"), httpx.Response(202, json=MESSAGE)]
    )
    async with client() as api:
        sent = await api.send_message("s1", "c", "hi", message_id="m1")
    assert sent["message_id"] == "m1"
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert route.call_count == 3 and len(keys) == 1


def test_a_post_without_idempotency_key_is_not_retried_after_it_may_have_run() -> None:
    unkeyed = _retries.is_repeatable("POST", {})
    keyed = _retries.is_repeatable("POST", {"idempotency-key": "k"})
    assert not _retries.should_retry(0, 2, unkeyed, status=503, sent=True)
    assert not _retries.should_retry(0, 2, unkeyed, status=None, sent=True)
    assert _retries.should_retry(0, 2, unkeyed, status=None, sent=False)  # never reached it
    assert _retries.should_retry(1, 2, keyed, status=503, sent=True)
    assert not _retries.should_retry(2, 2, keyed, status=503, sent=True)  # max_retries spent
    assert not _retries.should_retry(0, 2, keyed, status=500, sent=True)  # not a retryable status


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), ("0", 0.0), ("-4", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_in_seconds(value: str | None, seconds: float | None) -> None:
    assert _retries.retry_after_seconds(value, now=0.0) == seconds


def test_retry_after_as_an_http_date() -> None:
    assert _retries.retry_after_seconds("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0) == 6.0


def test_backoff_grows_exponentially_with_jitter_and_honours_a_reasonable_retry_after() -> None:
    for attempt, base in ((0, 0.5), (1, 1.0), (2, 2.0), (6, 8.0)):
        assert 0.75 * base <= _retries.backoff(attempt, None) <= base
    assert _retries.backoff(0, "7") == 7.0
    assert _retries.backoff(0, "3600") <= 0.5  # too long to wait: backoff instead


async def test_timeouts_become_api_timeout_error(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get("/sessions/s1").mock(side_effect=httpx.ReadTimeout("slow"))
    async with client(max_retries=1) as api:
        with pytest.raises(APITimeoutError) as raised:
            await api.get_session("s1")
    assert route.call_count == 2
    assert f"the API at {API} did not answer in time" in str(raised.value)


async def test_connect_errors_become_api_connection_error(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.get("/sessions/s1").mock(side_effect=httpx.ConnectError("refused"))
    async with client(max_retries=0) as api:
        with pytest.raises(APIConnectionError) as raised:
            await api.get_session("s1")
    assert not isinstance(raised.value, APITimeoutError)
    assert isinstance(raised.value.__cause__, httpx.ConnectError)  # the library's own error
    assert f"cannot reach the API at {API}: " in str(raised.value)


async def test_bearer_token_is_sent_but_never_shown(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "tok-very-secret-123"
    monkeypatch.setenv("ORG_API_TOKEN", secret)
    route = mock.get("/sessions/s1").mock(return_value=problem(401))
    async with client(max_retries=0) as api:
        assert secret not in repr(api)
        with pytest.raises(AuthenticationError) as raised:
            await api.get_session("s1")
    assert route.calls[0].request.headers["authorization"] == f"Bearer {secret}"
    assert secret not in str(raised.value) and secret not in repr(raised.value)


async def test_success_bodies_are_plain_dicts(mock: respx.MockRouter) -> None:
    mock.get("/sessions").mock(
        return_value=httpx.Response(200, json={"items": [SESSION], "next_cursor": "a1"})
    )
    async with client() as api:
        page = await api.list_sessions(status="ACTIVE", limit=1)
    assert type(page) is dict and type(page["items"][0]) is dict
    assert page["next_cursor"] == "a1"
    assert json.loads(json.dumps(page))["items"][0]["status"] == "ACTIVE"


@pytest.mark.parametrize("returned", [["m1"], {"id": "m1"}, None, "", 5, "someone-elses"])
async def test_a_send_answered_with_another_message_id_is_a_validation_error_at_once(
    mock: respx.MockRouter, returned: Any
) -> None:
    # The client named the message: a record of any other id is not the contract's answer.
    mock.post("/sessions/s1/messages").respond(202, json={**MESSAGE, "message_id": returned})
    async with client() as api:
        with pytest.raises(APIResponseValidationError, match="message_id"):
            await api.send_message("s1", "c", "hi", message_id="m1")
