"""No input poisons the reference server (issue 26, items 3 to 5): what the contract refuses is
refused before anything is stored, every stored value can be read back and published, and every
page fits under the client's response cap. Real HTTP on loopback, plain httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from session_client import AsyncSessionClient
from session_client._rest import MAX_RESPONSE_BYTES
from session_client.testing import LocalStack

from .conftest import unique

pytestmark = pytest.mark.integration

KIB = 1024


@pytest.fixture(autouse=True)
def silent(stack: LocalStack) -> Iterator[None]:
    """The stack's human never answers here: the tests answer, or leave messages SENT."""
    stack.human.stay_silent()
    yield
    stack.human.answer_with({"approved": True})


@pytest.fixture
async def api(stack: LocalStack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the module's local stack."""
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        yield client


def problem_type(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    kind: str = response.json()["type"]
    return kind


async def post_raw(api: httpx.AsyncClient, path: str, text: str) -> httpx.Response:
    """POST ``text`` as it is (JSON escapes included) as an application/json body."""
    return await api.post(path, content=text.encode(), headers={"content-type": "application/json"})


async def session_with_message(api: httpx.AsyncClient, subject_id: str) -> tuple[str, str]:
    session_id = unique("input")
    created = await api.post("/sessions", json={"session_id": session_id, "subject_id": subject_id})
    assert created.status_code == 201, created.text
    sent = await api.post(
        f"/sessions/{session_id}/messages", json={"channel_id": "chan", "message": "ok?"}
    )
    assert sent.status_code == 202, sent.text
    return session_id, sent.json()["message_id"]


async def test_ids_ending_in_a_newline_are_refused_like_any_id_outside_the_pattern(
    api: httpx.AsyncClient,
) -> None:
    # Python's `$` matches before a final newline; the contract's (JSON Schema's) does not.
    session_id, _ = await session_with_message(api, "input")
    bad = {
        "session_id": {"session_id": "input-nl\n"},
        "subject_id": {"session_id": unique("input"), "subject_id": "input\n"},
    }
    for field, body in bad.items():
        response = await api.post("/sessions", json=body)
        assert response.status_code == 422, (field, response.text)
    messages = f"/sessions/{session_id}/messages"
    for field, value in (("channel_id", "chan\n"), ("message_id", "m-1\n"), ("subject_id", "s\n")):
        body = {"channel_id": "chan", "message": "ok?", field: value}
        response = await api.post(messages, json=body)
        assert response.status_code == 422, (field, response.text)
    assert (await api.get("/sessions", params={"subject_id": "input\n"})).status_code == 422
    assert (await api.get("/sessions/input-nl%0A")).status_code == 422
    listed = (await api.get("/sessions", params={"limit": 1000})).json()["items"]
    assert not [s for s in listed if s["session_id"].endswith("\n")]
    assert (await api.get(f"/sessions/{session_id}")).json()["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sessions", '{"session_id": "SID", "message_data": {"note": "\\ud800"}}'),
        ("/sessions", '{"session_id": "SID", "message_data_template": {"\\udfff": {}}}'),
        ("/sessions/SID/messages", '{"channel_id": "chan", "message": "a\\ud800b"}'),
        ("/sessions/SID/messages/MID/response", '{"response": {"text": "\\ud83d"}}'),
    ],
)
async def test_a_lone_surrogate_is_refused_before_anything_is_stored(
    api: httpx.AsyncClient, path: str, body: str
) -> None:
    session_id, message_id = await session_with_message(api, unique("surrogate"))
    fresh = unique("surrogate")
    target = session_id if "messages" in path else fresh
    response = await post_raw(
        api,
        path.replace("SID", target).replace("MID", message_id),
        body.replace("SID", fresh),
    )
    assert response.status_code == 422, response.text
    assert "surrogate" in response.json()["detail"]
    # Nothing was stored, and every reader still works.
    assert (await api.get(f"/sessions/{fresh}")).status_code == 404
    assert (await api.get("/sessions", params={"limit": 1000})).status_code == 200
    message = await api.get(f"/sessions/{session_id}/messages/{message_id}")
    assert message.status_code == 200
    assert message.json()["state"] == "SENT"
    assert (await api.get("/_inbox/api/state")).status_code == 200


async def test_values_over_the_contracts_byte_bounds_are_413_problems(
    api: httpx.AsyncClient,
) -> None:
    session_id, message_id = await session_with_message(api, "input")
    big = "x" * (256 * KIB)
    refused = {
        "message_data": await api.post(
            "/sessions", json={"session_id": unique("big"), "message_data": {"d": big}}
        ),
        "message_data_template": await api.post(
            "/sessions",
            json={"session_id": unique("big"), "message_data_template": {"title": big[:65536]}},
        ),
        "response": await api.post(
            f"/sessions/{session_id}/messages/{message_id}/response",
            json={"response": {"d": big}},
        ),
        "body": await api.post(
            "/sessions",
            content=b" " * (9 * KIB * KIB),
            headers={"content-type": "application/json"},
        ),
    }
    for field, response in refused.items():
        assert response.status_code == 413, (field, response.text)
        assert problem_type(response) == "urn:session-api:payload-too-large"
    assert (await api.get(f"/sessions/{session_id}/messages/{message_id}")).json()["state"] == (
        "SENT"
    )
    # Just under the bounds is fine.
    under = await api.post(
        "/sessions", json={"session_id": unique("big"), "message_data": {"d": big[:-100]}}
    )
    assert under.status_code == 201, under.text


async def test_every_page_fits_under_the_clients_response_cap(
    api: httpx.AsyncClient, stack: LocalStack
) -> None:
    # 45 sessions and answers of ~250 KiB each: 11 MiB of each, over the client's 10 MiB cap.
    subject, count, blob = unique("pages"), 45, "y" * (250 * KIB)
    for index in range(count):
        session_id = f"{subject}-{index}"
        body = {"session_id": session_id, "subject_id": subject, "message_data": {"d": blob}}
        assert (await api.post("/sessions", json=body)).status_code == 201
        sent = await api.post(
            f"/sessions/{session_id}/messages", json={"channel_id": "chan", "message": "?"}
        )
        answered = await api.post(
            f"/sessions/{session_id}/messages/{sent.json()['message_id']}/response",
            json={"response": {"d": blob}},
        )
        assert answered.status_code == 200, answered.text

    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as client:
        listed: list[dict[str, Any]] = []
        cursor = None
        while True:  # the client refuses any response over its cap
            page = await client.list_sessions(subject_id=subject, limit=1000, cursor=cursor)
            listed.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert [session["session_id"] for session in listed] == [
        f"{subject}-{index}" for index in range(count)
    ]

    settled: list[str] = []
    params: dict[str, Any] = {"subject_id": subject, "limit": 1000}
    while True:
        response = await api.get("/messages/settled", params=params)
        assert len(response.content) <= 4 * KIB * KIB < MAX_RESPONSE_BYTES
        page = response.json()
        settled.extend(item["session_id"] for item in page["items"])
        if not page["has_more"]:
            break
        params["cursor"] = page["next_cursor"]
    assert settled == [f"{subject}-{index}" for index in range(count)]


async def test_bodies_other_than_json_are_refused_with_415(api: httpx.AsyncClient) -> None:
    # What a browser's cross-site <form> can send without asking (no CORS preflight).
    session_id, message_id = await session_with_message(api, "input")
    fresh = unique("form")
    forms = {
        "/sessions": json.dumps({"session_id": fresh}),
        f"/sessions/{session_id}/messages/{message_id}/response": '{"response": {"a": 1}}',
        f"/sessions/{session_id}/reject": "",
        "/sessions/expire": "",
    }
    for path, text in forms.items():
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            response = await api.post(path, content=text.encode(), headers={"content-type": kind})
            assert response.status_code == 415, (path, kind, response.text)
            assert problem_type(response) == "urn:session-api:unsupported-media-type"
    untyped = await api.post("/sessions", content=json.dumps({"session_id": fresh}).encode())
    assert untyped.status_code == 415
    assert (await api.get(f"/sessions/{fresh}")).status_code == 404
    assert (await api.get(f"/sessions/{session_id}")).json()["status"] == "ACTIVE"
    message = (await api.get(f"/sessions/{session_id}/messages/{message_id}")).json()
    assert message["state"] == "SENT"
    # A client of the API sends JSON, or no body at all.
    assert (await api.post(f"/sessions/{session_id}/reject")).status_code == 200
