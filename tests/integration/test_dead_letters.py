"""An event NATS can never take goes to the dead letters and never holds up the outbox: it shows
in the dev inbox, in the stack's log and in ``session-client dev``'s output (issue 26, item 3).
A real nats-server whose ``max_payload`` (64 KiB) is below an answer the contract allows."""

from __future__ import annotations

import asyncio
import json
import logging
import select
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import nats
import pytest

from session_client.subjects import DEFAULT_SUBJECT_TEMPLATE, response_subject, subject_wide
from session_client.testing import LocalStack, NatsServer, SimulatedHuman

from .conftest import unique

pytestmark = pytest.mark.integration

BIG = {"text": "z" * (100 * 1024)}  # under the contract's 256 KiB, over this NATS's 64 KiB


@pytest.fixture(scope="module")
def small_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    config = tmp_path_factory.mktemp("nats") / "small.conf"
    config.write_text("max_payload: 65536\n")
    server = NatsServer(extra_args=["-c", str(config)])
    server.start()
    yield server
    server.close()


async def send(api: httpx.AsyncClient, session_id: str, subject: str) -> str:
    """Create ``session_id`` on ``subject`` and send it a message; its id."""
    body = {"session_id": session_id, "subject_id": subject}
    assert (await api.post("/sessions", json=body)).status_code == 201
    sent = await api.post(
        f"/sessions/{session_id}/messages", json={"channel_id": "c", "message": "?"}
    )
    message_id: str = sent.json()["message_id"]
    return message_id


async def answer(
    api: httpx.AsyncClient, session_id: str, message_id: str, response: dict[str, object]
) -> None:
    path = f"/sessions/{session_id}/messages/{message_id}/response"
    assert (await api.post(path, json={"response": response})).status_code == 200


@pytest.mark.parametrize("stream", [False, True], ids=["core", "jetstream"])
async def test_an_unpublishable_answer_is_dead_lettered_and_later_answers_go_on(
    small_nats: NatsServer, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    subject = unique("dead")
    with LocalStack(
        nats_url=small_nats.url, stream=stream, human=SimulatedHuman(silent=True)
    ) as st:
        nc = await nats.connect(st.nats_url)
        try:
            published = await nc.subscribe(
                subject_wide(response_subject(DEFAULT_SUBJECT_TEMPLATE, subject))
            )
            await nc.flush()
            async with httpx.AsyncClient(base_url=st.api_url, timeout=10) as api:
                big = await send(api, f"{subject}-big", subject)
                await answer(api, f"{subject}-big", big, BIG)
                sessions = [f"{subject}-{index}" for index in range(5)]
                for session_id in sessions:
                    await answer(api, session_id, await send(api, session_id, subject), {"ok": 1})
                # Every later answer reaches NATS, in order, although the big one never can.
                received = [json.loads((await published.next_msg(10)).data) for _ in sessions]
                dead = (await api.get("/_inbox/api/state")).json()["dead_letters"]
        finally:
            await nc.close()
    assert [event["session_id"] for event in received] == sessions
    assert [(d["msg_id"], d["subject_id"]) for d in dead] == [(big, subject)]
    assert "max_payload of 65536" in dead[0]["reason"]
    logged = [
        r for r in caplog.records if r.levelno == logging.ERROR and "dead letter" in r.message
    ]
    assert len(logged) == 1
    assert big in logged[0].message


def test_dev_shows_the_stacks_warnings(small_nats: NatsServer) -> None:
    dev = subprocess.Popen(
        [sys.executable, "-m", "session_client", "dev", "--silent", "--nats-url", small_nats.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert dev.stdout is not None
        api_url = json.loads(dev.stdout.readline())["api_url"]

        async def answer_big() -> str:
            async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
                message_id = await send(api, "dev-dead", "d")
                await answer(api, "dev-dead", message_id, BIG)
                return message_id

        message_id = asyncio.run(answer_big())
        assert dev.stderr is not None
        readable, _, _ = select.select([dev.stderr], [], [], 15)
        line = dev.stderr.readline() if readable else "(nothing within 15 s)"
    finally:
        dev.send_signal(signal.SIGINT)
        dev.communicate(timeout=30)
    assert line.startswith(f"stack: ERROR dead letter: {message_id} for d "), line
    assert dev.returncode == 0


async def test_an_answer_the_stream_refuses_is_dead_lettered_and_later_answers_go_on() -> None:
    # The stream's own max_msg_size (4 KiB here) is below NATS's max_payload: JetStream refuses
    # the answer every time, which must not hold up the answers after it.
    subject = unique("refused")
    with LocalStack(human=SimulatedHuman(silent=True)) as st:
        nc = await nats.connect(st.nats_url)
        try:
            js = nc.jetstream()
            config = (await js.stream_info("SESSION_RESPONSES")).config
            config.max_msg_size = 4096
            await js.update_stream(config)
            published = await nc.subscribe(
                subject_wide(response_subject(DEFAULT_SUBJECT_TEMPLATE, subject))
            )
            await nc.flush()
            async with httpx.AsyncClient(base_url=st.api_url, timeout=10) as api:
                big = await send(api, f"{subject}-big", subject)
                await answer(api, f"{subject}-big", big, {"text": "z" * 8192})
                sessions = [f"{subject}-{index}" for index in range(3)]
                for session_id in sessions:
                    await answer(api, session_id, await send(api, session_id, subject), {"ok": 1})
                # A core subscriber sees the refused publish too (it is a NATS publish first):
                # the later answers must follow it, and not wait behind it for ever.
                received = [json.loads((await published.next_msg(10)).data) for _ in range(4)]
                dead = (await api.get("/_inbox/api/state")).json()["dead_letters"]
        finally:
            await nc.close()
    later = [event["session_id"] for event in received if event["message_id"] != big]
    assert later == sessions
    assert [(d["msg_id"], d["subject_id"]) for d in dead] == [(big, subject)]
    assert "the stream refused it" in dead[0]["reason"]
