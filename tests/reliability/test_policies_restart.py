"""Scenario 16: waiting policies (issue 30) through a NATS restart. Every policy's question
goes unanswered on its first channel, is reminded, then escalated to a second channel where
the human answers - while NATS is SIGKILLed and restarted. Every policy gets its own answer,
and no message is sent (delivered to the human) twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

from session_client import AsyncSessionClient
from session_client.testing import LocalStack, SimulatedHuman

from .conftest import Tally, create_sessions, echo, question, scale, sessions_on_subjects

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

REMIND, ESCALATE, OUTAGE = 0.5, 1.0, 1.0


async def test_policies_through_a_nats_restart(figures: Callable[..., None]) -> None:
    count = scale(20, 200)
    human = SimulatedHuman(callback=echo, delay=0.1)
    human.ignore_channel("chan")
    with LocalStack(human=human) as stack:
        nats_server = stack.nats_server
        assert nats_server is not None
        session_ids, subject_of = sessions_on_subjects("policy", count, 10)
        tally = Tally(count)
        async with AsyncSessionClient(
            stack.api_url,
            [stack.nats_url],
            max_retries=5,
            nats_options={"reconnect_time_wait": 0.5},
        ) as client:
            await create_sessions(client, session_ids, subject_of)

            async def one(session_id: str) -> None:
                try:
                    answer = await client.send_and_wait_for_response(
                        session_id,
                        "chan",
                        question(session_id),
                        subject_of(session_id),
                        60,
                        message_id=f"{session_id}:ask",
                        reminders=[REMIND],
                        escalate_to=[(ESCALATE, "backup")],
                    )
                except Exception as exc:
                    tally.add(session_id, exc)
                else:
                    tally.add(session_id, answer)

            waits = asyncio.gather(*(one(session_id) for session_id in session_ids))
            # Every first message is out: the reminders and escalations fall in the outage.
            await asyncio.to_thread(human.wait_for_messages, count, 60)
            nats_server.kill()
            await asyncio.sleep(OUTAGE)  # how long NATS stays down
            await asyncio.to_thread(nats_server.start)  # same port, same store
            await waits
            records = [
                [m["message_id"] async for m in client.iter_messages(session_id)]
                for session_id in session_ids
            ]
    sent = Counter(message["message_id"] for message in human.received)
    sent_twice = sum(1 for times in sent.values() if times > 1)
    escalated = sum(
        answer.get("message_id", "").endswith("~e1") for answer in tally.answers.values()
    )
    figures(
        "16. Waiting policies: NATS SIGKILL + restart",
        **tally.figures(),
        messages_sent_twice=sent_twice,
        answered_on_escalation=escalated,
        conditions=f"{count} policies (reminder at {REMIND:g} s, escalation at {ESCALATE:g} s; "
        f"the first channel ignored), NATS down {OUTAGE:g} s once every first message was out",
    )
    assert tally.delivered == count, tally.figures()
    assert tally.duplicated == 0 and tally.wrong == 0
    assert sent_twice == 0 and len(sent) == 3 * count
    assert all(len(ids) == len(set(ids)) == 3 for ids in records)
