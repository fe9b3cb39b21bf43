"""A newer server adds fields to its responses (openapi.yaml, "Evolution"): they pass the
contract and reach the user as the server sent them, until the client is regenerated."""

from __future__ import annotations

import httpx
import pytest
import respx

from session_client import AsyncSessionClient
from session_client.testing.contracts import ContractValidator
from tests.unit.records import MESSAGE, SESSION

API = "http://api.test"
NEWER_SESSION = {**SESSION, "priority": "high", "created_at": "2026-11-25T00:00:00Z"}
NEWER_MESSAGE = {**MESSAGE, "channel_kind": "chat"}


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("Session", NEWER_SESSION),
        ("SessionPage", {"items": [NEWER_SESSION], "next_cursor": None, "total": 1}),
        ("Message", NEWER_MESSAGE),
        ("SettledMessagePage", {"items": [], "next_cursor": "c1", "has_more": False, "lag": 0}),
        ("ExpireResult", {"expired_count": 0, "session_ids": [], "took_ms": 3}),
        ("Health", {"status": "ok", "version": "2.0"}),
    ],
)
def test_responses_with_added_fields_keep_to_the_contract(
    schema: str, body: dict[str, object]
) -> None:
    assert ContractValidator().errors(schema, body, "body") == []


async def test_added_fields_and_timestamps_reach_the_user_as_sent() -> None:
    with respx.mock(base_url=API) as api:
        api.get("/sessions/s1").mock(return_value=httpx.Response(200, json=NEWER_SESSION))
        async with AsyncSessionClient(API, ["nats://127.0.0.1:1"]) as client:
            assert await client.get_session("s1") == NEWER_SESSION
