"""The local stack end to end through real HTTP and a real nats-server, via the generated client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import nats
import pytest
from nats.aio.msg import Msg

from session_client._session_api.api.messages import get_message, send_message, submit_response
from session_client._session_api.api.sessions import create_session, expire_sessions, reject_session
from session_client._session_api.models import (
    CreateSessionRequest,
    SendMessageRequest,
    SubmitResponseRequest,
)
from session_client.testing import LocalStack
from session_client.testing.contracts import load_contract
from tests.routes import Routes

from ..stack_holder import kill_holder, processes_naming

pytestmark = pytest.mark.integration

ASYNCAPI = load_contract("asyncapi.yaml")


def payload_schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}", "components": ASYNCAPI["components"]}


@pytest.fixture
async def nc(stack: LocalStack) -> AsyncIterator[nats.NATS]:
    connection = await nats.connect(stack.nats_url)
    yield connection
    await connection.close()


async def next_message(sub: Any) -> Msg:
    msg: Msg = await sub.next_msg(timeout=5.0)
    return msg


async def test_answer_arrives_on_the_documented_subject_with_the_documented_payload(
    stack: LocalStack, nc: nats.NATS, human: Any
) -> None:
    human.answer_next({"approved": True, "note": "fine"}, delay=0.05)
    sub = await nc.subscribe("sessions.responses.subject-a.it-answer")
    async with Routes(stack.api_url) as api:
        created = await api.call(
            create_session,
            body=CreateSessionRequest(session_id="it-answer", subject_id="subject-a"),
        )
        assert created.status_code == 201
        sent = await api.call(
            send_message, "it-answer", body=SendMessageRequest(channel_id="chan", message="ok?")
        )
        assert sent.status_code == 202
        message_id = json.loads(sent.content)["message_id"]
        msg = await next_message(sub)
        payload = json.loads(msg.data)
        jsonschema.validate(payload, payload_schema("ResponsePayload"))
        assert payload["message_id"] == message_id
        assert payload["session_id"] == "it-answer"
        assert payload["response"] == {"approved": True, "note": "fine"}
        assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == message_id
        stored = await api.call(get_message, "it-answer", message_id)
        assert json.loads(stored.content)["state"] == "ANSWERED"


async def test_answers_go_through_the_jetstream_stream(stack: LocalStack, nc: nats.NATS) -> None:
    js = nc.jetstream()
    before = (await js.stream_info("SESSION_RESPONSES")).state.messages
    async with Routes(stack.api_url) as api:
        await api.call(
            create_session, body=CreateSessionRequest(session_id="it-js", subject_id="subject-js")
        )
        sub = await nc.subscribe("sessions.responses.subject-js.*")
        await api.call(send_message, "it-js", body=SendMessageRequest(channel_id="c", message="m"))
        await next_message(sub)
    assert (await js.stream_info("SESSION_RESPONSES")).state.messages == before + 1


async def test_reject_and_expire_publish_status_events(
    stack: LocalStack, nc: nats.NATS, human: Any
) -> None:
    human.stay_silent()
    sub = await nc.subscribe("sessions.responses.subject-s.*")
    async with Routes(stack.api_url) as api:
        for session_id, expiry in (("it-reject", None), ("it-expire", int(time.time()) - 1)):
            await api.call(
                create_session,
                body=CreateSessionRequest(
                    session_id=session_id, subject_id="subject-s", expiry_date=expiry
                ),
            )
        sent = await api.call(
            send_message, "it-reject", body=SendMessageRequest(channel_id="c", message="m")
        )
        message_id = json.loads(sent.content)["message_id"]
        rejected = await api.call(reject_session, "it-reject")
        assert json.loads(rejected.content)["status"] == "FAILED"
        event = json.loads((await next_message(sub)).data)
        jsonschema.validate(event, payload_schema("SessionStatusPayload"))
        assert (event["session_id"], event["status"]) == ("it-reject", "FAILED")
        message = await api.call(get_message, "it-reject", message_id)
        assert json.loads(message.content)["state"] == "CANCELLED"
        late = await api.call(
            submit_response,
            "it-reject",
            message_id,
            body=SubmitResponseRequest.from_dict({"response": {}}),
        )
        assert late.status_code == 409

        expired = await api.call(expire_sessions)
        assert "it-expire" in json.loads(expired.content)["session_ids"]
        event = json.loads((await next_message(sub)).data)
        assert (event["event"], event["session_id"], event["status"]) == (
            "session.status",
            "it-expire",
            "EXPIRED",
        )


async def test_idempotency_key_creates_nothing_new(stack: LocalStack, human: Any) -> None:
    human.stay_silent()
    assert stack.server is not None
    async with Routes(stack.api_url) as api:
        await api.call(create_session, body=CreateSessionRequest(session_id="it-idem"))
        before = stack.server.store.count_messages()
        bodies = []
        for _ in range(3):
            sent = await api.call(
                send_message,
                "it-idem",
                body=SendMessageRequest(channel_id="c", message="once"),
                idempotency_key="key-1",
            )
            bodies.append(json.loads(sent.content))
        assert stack.server.store.count_messages() == before + 1
        assert len({body["message_id"] for body in bodies}) == 1
        reused = await api.call(
            send_message,
            "it-idem",
            body=SendMessageRequest(channel_id="c", message="other"),
            idempotency_key="key-1",
        )
        assert reused.status_code == 409


async def test_create_session_repeat_and_conflict_and_template(stack: LocalStack) -> None:
    async with Routes(stack.api_url) as api:
        body = CreateSessionRequest.from_dict(
            {
                "session_id": "it-repeat",
                "message_data": {"n": 1},
                "message_data_template": {"type": "object", "required": ["n"]},
            }
        )
        assert (await api.call(create_session, body=body)).status_code == 201
        assert (await api.call(create_session, body=body)).status_code == 200
        other = CreateSessionRequest.from_dict(
            {"session_id": "it-repeat", "message_data": {"n": 2}}
        )
        assert (await api.call(create_session, body=other)).status_code == 409
        bad = CreateSessionRequest.from_dict(
            {
                "session_id": "it-bad-data",
                "message_data": {},
                "message_data_template": {"type": "object", "required": ["n"]},
            }
        )
        response = await api.call(create_session, body=bad)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert json.loads(response.content)["request_id"] == response.headers["x-request-id"]


async def test_core_nats_without_a_stream() -> None:
    with LocalStack(stream=False) as stack:
        nc = await nats.connect(stack.nats_url)
        try:
            sub = await nc.subscribe("sessions.responses.core.*")
            async with Routes(stack.api_url) as api:
                await api.call(
                    create_session, body=CreateSessionRequest(session_id="core", subject_id="core")
                )
                await api.call(
                    send_message, "core", body=SendMessageRequest(channel_id="c", message="m")
                )
            assert json.loads((await next_message(sub)).data)["session_id"] == "core"
            with pytest.raises(Exception, match="stream not found"):
                await nc.jetstream().stream_info("SESSION_RESPONSES")
        finally:
            await nc.close()


def test_serve_command_prints_one_json_line_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "session_client.testing", "serve", "--auto-respond", '{"ok": 1}'],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        urls = json.loads(line)
        assert set(urls) == {"api_url", "nats_url", "inbox_url"}
        assert urls["inbox_url"] == urls["api_url"] + "/_inbox/"

        async def round_trip() -> dict[str, Any]:
            nc = await nats.connect(urls["nats_url"])
            sub = await nc.subscribe("sessions.responses.cli.*")
            async with Routes(urls["api_url"]) as api:
                await api.call(
                    create_session, body=CreateSessionRequest(session_id="cli", subject_id="cli")
                )
                await api.call(
                    send_message, "cli", body=SendMessageRequest(channel_id="c", message="m")
                )
            payload: dict[str, Any] = json.loads((await next_message(sub)).data)
            await nc.close()
            return payload

        assert asyncio.run(round_trip())["response"] == {"ok": 1}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert process.stdout.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("restart", [False, True], ids=["started", "restarted"])
def test_a_sigkilled_holder_leaves_no_process_and_no_directory(restart: bool) -> None:
    # Before issue 26, its nats-server ran on (reparented) and its directory stayed.
    left = kill_holder(restart=restart, bound=10)
    assert left.clean, left


def test_a_stopped_stack_leaves_no_process_either() -> None:
    with LocalStack() as stack:
        assert stack.nats_server is not None
        directory = os.path.dirname(stack.nats_server.store_dir)
        assert len(processes_naming(directory)) == 2  # nats-server and its watchdog
    assert processes_naming(directory) == [] and not os.path.lexists(directory)
