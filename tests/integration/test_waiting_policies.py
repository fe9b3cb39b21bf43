"""Waiting policies (issue 30) on a real local stack: reminders, escalation, a default at the
deadline and k-of-n quorum, each resumable with the same ``message_id``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from session_client import (
    AsyncSessionClient,
    QuorumTimeoutError,
    QuorumUnreachableError,
    ResponseTimeoutError,
    SessionRejectedError,
    is_defaulted,
)
from session_client._policies.schedule import seconds_of
from session_client.testing import LocalStack, SimulatedHuman

from .conftest import unique

pytestmark = pytest.mark.integration

#: How far a follow-up's ``created_at`` may be from its due time (the issue's bound).
TOLERANCE = 0.5


@pytest.fixture
def human(stack: LocalStack) -> Iterator[SimulatedHuman]:
    """The stack's simulated human, reset before and after (ignored channels included)."""
    stack.human.reset()
    yield stack.human
    stack.human.reset()


async def record(client: AsyncSessionClient, session_id: str) -> dict[str, dict[str, Any]]:
    """The session's messages by id."""
    return {m["message_id"]: dict(m) async for m in client.iter_messages(session_id)}


def offsets(messages: dict[str, dict[str, Any]], base: str) -> dict[str, float]:
    """Each message's ``created_at`` in seconds after ``base``'s."""
    origin = seconds_of(messages[base]["created_at"])
    return {mid: seconds_of(m["created_at"]) - origin for mid, m in messages.items()}


def delivered(human: SimulatedHuman) -> list[str]:
    return [message["message_id"] for message in human.received]


async def session(client: AsyncSessionClient, prefix: str) -> str:
    sid = unique(prefix)
    await client.create_session(sid, subject_id="policies")
    return sid


# -- reminders and escalation ---------------------------------------------------------------


async def test_reminders_repeat_the_question_on_schedule_until_one_is_answered(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.stay_silent_next()
    human.stay_silent_next()
    sid = await session(aclient, "remind")
    answer = await aclient.send_and_wait_for_response(
        sid, "chat", "Deploy v42?", "policies", 10, message_id="deploy-42", reminders=[0.4, 0.8]
    )
    assert answer["message_id"] == "deploy-42~r2"
    assert answer["response"] == {"approved": True}
    messages = await record(aclient, sid)
    assert list(messages) == ["deploy-42", "deploy-42~r1", "deploy-42~r2"]
    assert messages["deploy-42~r1"]["message"] == "Reminder: Deploy v42?"
    assert messages["deploy-42~r1"]["channel_id"] == "chat"
    times = offsets(messages, "deploy-42")
    assert times["deploy-42~r1"] == pytest.approx(0.4, abs=TOLERANCE)
    assert times["deploy-42~r2"] == pytest.approx(0.8, abs=TOLERANCE)
    assert delivered(human) == list(messages)


async def test_an_answer_stops_the_schedule(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    sid = await session(aclient, "remind-stop")
    answer = await aclient.send_and_wait_for_response(
        sid, "chat", "Ok?", "policies", 10, reminders=[0.3], escalate_to=[(0.3, "boss")]
    )
    assert not is_defaulted(answer)
    assert list(await record(aclient, sid)) == [answer["message_id"]]


async def test_escalation_hands_the_question_to_another_channel(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.ignore_channel("chat")
    sid = await session(aclient, "escalate")
    answer = await aclient.send_and_wait_for_response(
        sid,
        "chat",
        "Refund 40?",
        "policies",
        10,
        message_id="refund-7",
        reminders=[0.3],
        escalate_to=[(0.6, "manager")],
    )
    assert (answer["message_id"], answer["channel_id"]) == ("refund-7~e1", "manager")
    messages = await record(aclient, sid)
    assert [(m["message_id"], m["channel_id"], m["state"]) for m in messages.values()] == [
        ("refund-7", "chat", "SENT"),
        ("refund-7~r1", "chat", "SENT"),
        ("refund-7~e1", "manager", "ANSWERED"),
    ]
    assert messages["refund-7~e1"]["message"] == "Refund 40?"
    assert offsets(messages, "refund-7")["refund-7~e1"] == pytest.approx(0.6, abs=TOLERANCE)


async def test_on_timeout_returns_the_default_marked_defaulted(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.stay_silent()
    sid = await session(aclient, "default")
    answer = await aclient.send_and_wait_for_response(
        sid, "chat", "Ship?", "policies", 0.5, message_id="ship-1", on_timeout={"approved": False}
    )
    assert answer["response"] == {"approved": False}
    assert answer["message_id"] == "ship-1"
    assert answer.get("defaulted") is True and is_defaulted(answer)
    with pytest.raises(ValueError, match="on_timeout does not match"):
        await aclient.send_and_wait_for_response(
            sid,
            "chat",
            "Ship?",
            "policies",
            0.5,
            response_schema={"type": "object", "required": ["approved"]},
            on_timeout={"nope": 1},
        )


async def test_a_second_call_resumes_the_schedule_from_the_servers_created_at(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.stay_silent()
    sid = await session(aclient, "resume")
    policy: dict[str, Any] = {"message_id": "ask-1", "reminders": [1.0, 1.6]}
    with pytest.raises(ResponseTimeoutError):
        await aclient.send_and_wait_for_response(sid, "chat", "Go?", "policies", 0.3, **policy)
    human.answer_with({"approved": True})
    answer = await aclient.send_and_wait_for_response(sid, "chat", "Go?", "policies", 10, **policy)
    assert answer["message_id"] == "ask-1~r1"
    messages = await record(aclient, sid)
    # Counted from the first call's message, not from the second call (0.3 s later).
    assert offsets(messages, "ask-1")["ask-1~r1"] == pytest.approx(1.0, abs=TOLERANCE)
    assert delivered(human) == ["ask-1", "ask-1~r1"]  # the first was not sent again


# -- quorum -------------------------------------------------------------------------------------


async def test_quorum_returns_the_first_answers_and_reports_the_open_messages(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.ignore_channel("carol")
    sid = await session(aclient, "quorum")
    result = await aclient.send_and_wait_for_quorum(
        sid,
        ["alice", "bob", "carol"],
        "Approve?",
        "policies",
        quorum=2,
        timeout=10,
        message_id="vote-1",
    )
    assert sorted(a["channel_id"] for a in result["answers"]) == ["alice", "bob"]
    assert result["unanswered"] == ["vote-1~q3"]
    assert result["declined"] == result["extra"] == []
    # Resumed: nothing is sent again, the answers given are counted.
    again = await aclient.send_and_wait_for_quorum(
        sid,
        ["alice", "bob", "carol"],
        "Approve?",
        "policies",
        quorum=2,
        timeout=10,
        message_id="vote-1",
    )
    assert sorted(a["message_id"] for a in again["answers"]) == ["vote-1~q1", "vote-1~q2"]
    assert delivered(human) == ["vote-1~q1", "vote-1~q2", "vote-1~q3"]


async def test_declined_answers_make_the_quorum_unreachable_at_once(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.answer_using(lambda m: {"approved": m["channel_id"] == "alice"})
    human.ignore_channel("dave")
    sid = await session(aclient, "declined")
    with pytest.raises(QuorumUnreachableError) as error:
        await aclient.send_and_wait_for_quorum(
            sid,
            ["alice", "bob", "carol", "dave"],
            "Approve?",
            "policies",
            quorum=3,
            timeout=30,
            accept=lambda answer: answer["response"]["approved"],
        )
    assert [a["channel_id"] for a in error.value.answers] == ["alice"]
    assert sorted(a["channel_id"] for a in error.value.declined) == ["bob", "carol"]
    assert len(error.value.unanswered) == 1  # dave's: reported, not dropped


async def test_a_session_ended_makes_the_quorum_unreachable(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.stay_silent()
    sid = await session(aclient, "ended")
    quorum = asyncio.ensure_future(
        aclient.send_and_wait_for_quorum(
            sid, ["a", "b"], "Approve?", "policies", quorum=1, timeout=30
        )
    )
    await asyncio.to_thread(human.wait_for_messages, 2)
    await aclient.reject_session(sid)
    with pytest.raises(QuorumUnreachableError) as error:
        await asyncio.wait_for(quorum, 10)
    assert isinstance(error.value.__cause__, SessionRejectedError)
    assert len(error.value.failed) == 2 and error.value.unanswered == []


async def test_quorum_timeout_reports_what_came(
    aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.ignore_channel("b")
    sid = await session(aclient, "q-timeout")
    with pytest.raises(QuorumTimeoutError) as error:
        await aclient.send_and_wait_for_quorum(
            sid, ["a", "b"], "Approve?", "policies", quorum=2, timeout=1, message_id="qt"
        )
    assert isinstance(error.value, ResponseTimeoutError)
    assert [a["message_id"] for a in error.value.answers] == ["qt~q1"]
    assert error.value.unanswered == ["qt~q2"]


# -- kill and resume ------------------------------------------------------------------------

_CALLER = """
import sys
from session_client import SessionClient
api, nats, sid = sys.argv[1:]
with SessionClient(api, [nats]) as client:
    client.send_and_wait_for_response(
        sid, "chat", "Approve the release?", "policies", 60, message_id="release-9",
        reminders=[1.0, 2.0], escalate_to=[(2.5, "backup")],
    )
"""


async def test_a_caller_killed_mid_schedule_is_resumed_by_a_new_call(
    stack: LocalStack, aclient: AsyncSessionClient, human: SimulatedHuman
) -> None:
    human.ignore_channel("chat")
    sid = await session(aclient, "killed")
    caller = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CALLER, stack.api_url, stack.nats_url, sid
    )
    try:
        await asyncio.to_thread(human.wait_for_messages, 2, 20)  # the first and ~r1
    finally:
        os.kill(caller.pid, signal.SIGKILL)
        await asyncio.wait_for(caller.wait(), 10)
    assert delivered(human) == ["release-9", "release-9~r1"]
    answer = await aclient.send_and_wait_for_response(
        sid,
        "chat",
        "Approve the release?",
        "policies",
        20,
        message_id="release-9",
        reminders=[1.0, 2.0],
        escalate_to=[(2.5, "backup")],
    )
    assert answer["message_id"] == "release-9~e1"
    messages = await record(aclient, sid)
    assert (
        delivered(human)
        == list(messages)
        == [
            "release-9",
            "release-9~r1",
            "release-9~r2",
            "release-9~e1",
        ]
    )
    times = offsets(messages, "release-9")
    for message_id, due in [("release-9~r1", 1.0), ("release-9~r2", 2.0), ("release-9~e1", 2.5)]:
        assert times[message_id] == pytest.approx(due, abs=TOLERANCE), message_id
