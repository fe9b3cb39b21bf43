"""Scenario 18: answers NATS or its stream can never take (over ``max_payload``, over the
stream's ``max_msg_size``) go to the dead letters, and every answer after them still reaches
NATS, in order: no row stalls the outbox (issue 26, item 3)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import nats
import pytest

from session_client.subjects import DEFAULT_SUBJECT_TEMPLATE, response_subject, subject_wide
from session_client.testing import LocalStack, NatsServer, SimulatedHuman
from session_client.testing.inbox import DEAD_LETTER_LIMIT

from .conftest import scale

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

SUBJECT = "dead.letters"


async def test_unpublishable_answers_never_hold_up_the_outbox(
    tmp_path: Path, figures: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    rounds = scale(4, 40)
    config = tmp_path / "small.conf"
    config.write_text("max_payload: 65536\n")
    small = NatsServer(extra_args=["-c", str(config)])
    small.start()
    try:
        with LocalStack(nats_url=small.url, human=SimulatedHuman(silent=True)) as stack:
            nc = await nats.connect(stack.nats_url)
            js = nc.jetstream()
            stream = (await js.stream_info("SESSION_RESPONSES")).config
            stream.max_msg_size = 16 * 1024  # below NATS's max_payload: the stream refuses
            await js.update_stream(stream)
            published = await nc.subscribe(
                subject_wide(response_subject(DEFAULT_SUBJECT_TEMPLATE, SUBJECT))
            )
            await nc.flush()
            order: list[str] = []
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as api:
                for index in range(rounds):
                    # Every round: one answer over max_payload, one the stream refuses, one fine.
                    for kind, size in (("huge", 100_000), ("large", 20_000), ("ok", 10)):
                        session_id = f"dl-{index}-{kind}"
                        body = {"session_id": session_id, "subject_id": SUBJECT}
                        assert (await api.post("/sessions", json=body)).status_code == 201
                        sent = await api.post(
                            f"/sessions/{session_id}/messages",
                            json={"channel_id": "c", "message": "?"},
                        )
                        path = f"/sessions/{session_id}/messages/{sent.json()['message_id']}"
                        answer = {"response": {"text": "z" * size}}
                        posted = await api.post(f"{path}/response", json=answer)
                        assert posted.status_code == 200
                        if kind == "ok":
                            order.append(session_id)
                received: list[str] = []
                while len(received) < rounds:  # a core subscriber also sees refused publishes
                    event = json.loads((await published.next_msg(10)).data)
                    if event["session_id"].endswith("-ok"):
                        received.append(event["session_id"])
                shown = (await api.get("/_inbox/api/state")).json()["dead_letters"]
            await nc.close()
    finally:
        small.close()
    dead = [r for r in caplog.records if r.levelno == logging.ERROR and "dead letter" in r.message]
    assert received == order
    assert len(dead) == 2 * rounds
    assert len(shown) == min(2 * rounds, DEAD_LETTER_LIMIT)  # the inbox shows the newest
    figures(
        "18. Unpublishable answers go to the dead letters",
        expected=rounds,
        delivered=sum(a == b for a, b in zip(received, order, strict=True)),
        duplicated=0,
        wrong=rounds - len(received),
        dead_letters=len(dead),
        conditions="per round: one answer over max_payload (64 KiB), one over the stream's "
        "max_msg_size (16 KiB), one that fits",
    )
