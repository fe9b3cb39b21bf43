"""Typed answers (issue 27): a response schema from the app to the human and back, checked by
the server and again by the client, and the session's record - on a real local stack."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
from pydantic import BaseModel

from session_client import (
    AsyncSessionClient,
    InvalidAnswerError,
    SessionClient,
    UnprocessableEntityError,
)
from session_client.subjects import session_subject
from session_client.testing import LocalStack, SimulatedHuman

from .conftest import unique

pytestmark = pytest.mark.integration

APPROVAL = {
    "type": "object",
    "required": ["approved"],
    "additionalProperties": False,
    "properties": {"approved": {"type": "boolean"}, "comment": {"type": "string"}},
}
#: An approve-with-edits schema: the proposal's fields with their defaults.
REFUND = {
    "type": "object",
    "required": ["approved", "amount", "reason"],
    "properties": {
        "approved": {"type": "boolean"},
        "amount": {"type": "number", "minimum": 0, "default": 40},
        "reason": {"enum": ["damaged", "late", "other"], "default": "late"},
    },
}


class Refund(BaseModel):
    approved: bool
    amount: float = 40
    reason: str = "late"


@pytest.fixture
def client(stack: LocalStack) -> Any:
    with SessionClient(stack.api_url, [stack.nats_url]) as sync_client:
        yield sync_client


# -- the contract, through the client ---------------------------------------------------------


def test_the_schema_is_kept_an_invalid_answer_is_refused_by_pointer_and_may_be_given_again(
    client: SessionClient, human: SimulatedHuman
) -> None:
    human.stay_silent()
    sid = unique("typed")
    client.create_session(sid, subject_id="typed")
    sent = client.send_message(sid, "chat", "Refund 40?", response_schema=REFUND)
    assert sent["response_schema"] == REFUND
    assert client.get_message(sid, sent["message_id"])["response_schema"] == REFUND

    with pytest.raises(UnprocessableEntityError) as refused:
        client.submit_response(sid, sent["message_id"], {"approved": "yes", "amount": -1})
    assert refused.value.problem is not None
    assert refused.value.problem["errors"] == [
        {"location": "body", "path": "/response", "message": "'reason' is a required property"},
        {
            "location": "body",
            "path": "/response/amount",
            "message": "-1 is less than the minimum of 0",
        },
        {
            "location": "body",
            "path": "/response/approved",
            "message": "'yes' is not of type 'boolean'",
        },
    ]
    assert client.get_message(sid, sent["message_id"])["state"] == "SENT"  # asked again

    answer = {"approved": True, "amount": 25, "reason": "damaged"}
    record = client.submit_response(sid, sent["message_id"], answer, responded_by="alice")
    assert (record["state"], record["response"], record["responded_by"]) == (
        "ANSWERED",
        answer,
        "alice",
    )
    waited = client.wait_for_response(
        sid, "typed", sent["message_id"], timeout=10, response_schema=REFUND
    )
    assert waited["response"] == answer and waited["responded_by"] == "alice"


def test_the_session_record_pages_through_every_message(
    client: SessionClient, human: SimulatedHuman
) -> None:
    sid = unique("record")
    client.create_session(sid, subject_id="record")
    human.answer_next({"approved": True}, responded_by="bob")
    client.send_and_wait_for_response(sid, "c", "First?", "record", 10, response_schema=APPROVAL)
    client.send_and_wait_for_response(sid, "c", "Second?", "record", 10)
    human.stay_silent()
    client.send_message(sid, "c", "Third?")

    first = client.list_messages(sid, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"] is not None
    rest = client.list_messages(sid, cursor=first["next_cursor"])
    assert rest["next_cursor"] is None
    record = list(client.iter_messages(sid, page_size=1))
    assert record == first["items"] + rest["items"]
    assert [message["message"] for message in record] == ["First?", "Second?", "Third?"]
    assert [message["state"] for message in record] == ["ANSWERED", "ANSWERED", "SENT"]
    assert record[0]["response_schema"] == APPROVAL and record[1]["response_schema"] is None
    assert [message["responded_by"] for message in record] == ["bob", None, None]
    assert record[0]["responded_at"] is not None and record[2]["responded_at"] is None


async def test_the_async_client_iterates_the_record_too(aclient: AsyncSessionClient) -> None:
    sid = unique("arecord")
    await aclient.create_session(sid, subject_id="arecord")
    await aclient.send_message(sid, "c", "One?")
    assert [m["message"] async for m in aclient.iter_messages(sid)] == ["One?"]


def test_the_server_refuses_a_schema_that_is_not_one_of_objects(stack: LocalStack) -> None:
    sid = unique("rawschema")
    httpx.post(f"{stack.api_url}/sessions", json={"session_id": sid}).raise_for_status()
    for schema in ({"type": "string"}, {"type": "object", "minProperties": "two"}):
        reply = httpx.post(
            f"{stack.api_url}/sessions/{sid}/messages",
            json={"channel_id": "c", "message": "m", "response_schema": schema},
        )
        assert reply.status_code == 422, schema
        assert "response_schema" in reply.json()["detail"]


def test_the_same_message_id_with_another_schema_conflicts(
    client: SessionClient, human: SimulatedHuman
) -> None:
    human.stay_silent()
    sid = unique("schema-id")
    client.create_session(sid, subject_id="typed")
    client.send_message(sid, "c", "Go?", message_id=f"{sid}:go", response_schema=APPROVAL)
    again = client.send_message(sid, "c", "Go?", message_id=f"{sid}:go", response_schema=APPROVAL)
    assert again["response_schema"] == APPROVAL
    from session_client import ConflictError

    with pytest.raises(ConflictError):
        client.send_message(sid, "c", "Go?", message_id=f"{sid}:go", response_schema=REFUND)


# -- the client: schemas refused before sending, pydantic models, answers checked again ---------


@pytest.mark.parametrize(
    ("schema", "error"),
    [
        ({"type": "string"}, ValueError),  # an answer is an object
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, ValueError),
        ({"$ref": "#/$defs/missing"}, ValueError),
        ({"x": "y" * 70_000}, ValueError),  # over the contract's 64 KiB
        ("{}", TypeError),
        (dict, TypeError),  # a class, but not a model
    ],
)
def test_a_bad_schema_is_refused_before_anything_is_sent(schema: Any, error: type) -> None:
    # Nothing listens on port 1: a request would be an APIConnectionError instead.
    with SessionClient("http://127.0.0.1:1", ["nats://127.0.0.1:1"], max_retries=0) as nowhere:
        with pytest.raises(error, match="response_schema"):
            nowhere.send_message("s", "c", "m", response_schema=schema)
        with pytest.raises(error, match="response_schema"):
            nowhere.send_and_wait_for_response("s", "c", "m", "subj", response_schema=schema)
        with pytest.raises(error, match="response_schema"):
            nowhere.wait_for_response("s", "subj", response_schema=schema)


def test_a_model_class_makes_the_response_an_instance_on_the_blocking_client(
    client: SessionClient, human: SimulatedHuman
) -> None:
    sid = unique("model")
    client.create_session(sid, subject_id="model")
    # The human edits the proposal: another amount.
    human.answer_next({"approved": True, "amount": 12.5, "reason": "damaged"})
    answer = client.send_and_wait_for_response(
        sid, "c", "Refund?", "model", 10, response_schema=Refund
    )
    assert answer["response"] == Refund(approved=True, amount=12.5, reason="damaged")
    sent = client.get_message(sid, answer["message_id"])["response_schema"]
    assert sent == Refund.model_json_schema()
    resumed = client.wait_for_response(
        sid, "model", answer["message_id"], 10, response_schema=Refund
    )
    assert isinstance(resumed["response"], Refund)


async def test_a_model_class_makes_the_response_an_instance_on_the_async_client(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    sid = unique("amodel")
    await aclient.create_session(sid, subject_id="amodel")
    answer = await aclient.send_and_wait_for_response(
        sid, "c", "Refund?", "amodel", 10, response_schema=Refund
    )
    # The default human approves, with the proposal's defaults.
    assert answer["response"] == Refund(approved=True)


@pytest.fixture
async def publisher(stack: LocalStack) -> AsyncIterator[nats.NATS]:
    connection = await nats.connect(stack.nats_url)
    yield connection
    await connection.close()


async def test_a_forged_answer_that_does_not_match_raises_invalid_answer_error(
    aclient: AsyncSessionClient, human: SimulatedHuman, stack: LocalStack, publisher: nats.NATS
) -> None:
    human.stay_silent()
    sid, message_id = unique("forged"), unique("forged-msg")
    await aclient.create_session(sid, subject_id="forged")
    count = len(human.received)
    wait = asyncio.create_task(
        aclient.send_and_wait_for_response(
            sid, "c", "Go?", "forged", 10, message_id=message_id, response_schema=APPROVAL
        )
    )
    await asyncio.to_thread(human.wait_for_messages, count + 1, 5)
    forged = {
        "session_id": sid,
        "message_id": message_id,
        "channel_id": "c",
        "subject_id": "forged",
        "response": {"approved": "sure"},
        "responded_at": "2026-11-25T10:00:09Z",
    }
    subject = session_subject("sessions.responses.forged", sid)
    await publisher.publish(subject, json.dumps(forged).encode())
    with pytest.raises(InvalidAnswerError) as invalid:
        await wait
    assert invalid.value.payload == forged
    assert invalid.value.errors == [
        {"path": "/approved", "message": "'sure' is not of type 'boolean'"}
    ]
    assert (invalid.value.session_id, invalid.value.message_id) == (sid, message_id)


async def test_an_answer_a_server_without_schemas_let_through_raises_too(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    # As a server older than typed answers would: the message has no schema on the server.
    sid = unique("oldserver")
    await aclient.create_session(sid, subject_id="old")
    human.answer_next({"approved": "maybe"})
    answer = await aclient.send_and_wait_for_response(sid, "c", "Go?", "old", 10)
    for schema in (APPROVAL, Refund):
        with pytest.raises(InvalidAnswerError) as invalid:
            await aclient.wait_for_response(
                sid, "old", answer["message_id"], 10, response_schema=schema
            )
        assert invalid.value.payload["response"] == {"approved": "maybe"}
        assert invalid.value.errors[0]["path"] in ("/approved", "/amount", "/reason")


def test_pydantic_and_jsonschema_are_imported_only_when_a_schema_needs_them(
    stack: LocalStack,
) -> None:
    script = f"""
import sys
from session_client import SessionClient
with SessionClient({stack.api_url!r}, [{stack.nats_url!r}]) as client:
    client.create_session("lazy-1", subject_id="lazy")
    client.send_and_wait_for_response("lazy-1", "c", "Go?", "lazy", timeout=10)
    assert "jsonschema" not in sys.modules and "pydantic" not in sys.modules, "untyped call"
    schema = {APPROVAL!r}
    client.send_and_wait_for_response("lazy-1", "c", "Go?", "lazy", 10, response_schema=schema)
    assert "jsonschema" in sys.modules and "pydantic" not in sys.modules, "dict schema"
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.stdout.strip() == "ok", result.stderr


# -- the simulated human ----------------------------------------------------------------------


def test_the_simulated_human_answers_validly_from_the_schema_by_default(
    client: SessionClient, human: SimulatedHuman
) -> None:
    sid = unique("sketched")
    client.create_session(sid, subject_id="sketched")
    answer = client.send_and_wait_for_response(
        sid, "c", "Refund?", "sketched", 10, response_schema=REFUND
    )
    assert answer["response"] == {"approved": True, "amount": 40, "reason": "late"}
    approval = client.send_and_wait_for_response(
        sid, "c", "Go?", "sketched", 10, response_schema=APPROVAL
    )
    assert approval["response"] == {"approved": True}  # its usual answer fits: kept


def test_an_invalid_answer_first_is_refused_and_the_human_is_asked_again(
    client: SessionClient, stack: LocalStack, human: SimulatedHuman
) -> None:
    sid = unique("reask")
    client.create_session(sid, subject_id="reask")
    human.answer_next({"approved": "yes"})  # invalid: refused, then the default (valid)
    answer = client.send_and_wait_for_response(
        sid, "c", "Go?", "reask", 10, response_schema=APPROVAL
    )
    assert answer["response"] == {"approved": True}
    assert human.refused == [
        {
            "message_id": answer["message_id"],
            "errors": [{"path": "/approved", "message": "'yes' is not of type 'boolean'"}],
        }
    ]
    assert [m["message_id"] for m in human.received[-2:]] == [answer["message_id"]] * 2
    assert client.get_message(sid, answer["message_id"])["response"] == {"approved": True}
