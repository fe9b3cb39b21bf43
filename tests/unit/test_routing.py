"""Routing, pure: which waits a payload settles, with no server and no NATS connection."""

from __future__ import annotations

import json
from typing import Any

from session_client._wait._payloads import Answer, StatusEvent, parse_payload
from session_client._wait._routing import RoutingTable, Wait
from session_client.errors import NatsUnavailableError, SessionRejectedError

from .. import payloads

SUBJECT = "sessions.responses.subj"


def wait(session_id: str, message_id: str | None, subject: str = SUBJECT) -> Wait:
    return Wait(subject, subject.rsplit(".", 1)[1], session_id, message_id)


def answer(session_id: str, message_id: str, **response: Any) -> Answer:
    parsed = parse_payload(json.dumps(payloads.answer(session_id, message_id, **response)).encode())
    assert isinstance(parsed, Answer)
    return parsed


def rejected(w: Wait) -> BaseException:
    return SessionRejectedError(w.session_id, w.message_id)


async def test_an_answer_settles_only_the_waits_for_its_message() -> None:
    table = RoutingTable()
    first, second, other = wait("s1", "m1"), wait("s1", "m2"), wait("s2", "m3")
    assert [table.add(w) for w in (first, second, other)] == [True, False, False]
    assert table.answer(SUBJECT, answer("s1", "m2", n=2)) == 1
    assert table.answer(SUBJECT, answer("s1", "m1", n=1)) == 1
    assert table.answer(SUBJECT, answer("s1", "m1", n=99)) == 1  # a duplicate changes nothing
    assert table.answer(SUBJECT, answer("s9", "m1")) == 0  # another session's message id
    assert table.answer("sessions.responses.elsewhere", answer("s2", "m3")) == 0
    assert first.future.result()["response"] == {"n": 1}
    assert second.future.result()["response"] == {"n": 2}
    assert not other.future.done()


async def test_a_wait_for_any_message_takes_the_first_answer_of_its_session() -> None:
    table = RoutingTable()
    anything, specific = wait("s1", None), wait("s1", "m2")
    table.add(anything)
    table.add(specific)
    table.answer(SUBJECT, answer("s1", "m1", n=1))
    assert anything.future.result()["message_id"] == "m1"
    assert not specific.future.done()
    assert table.waiting_sessions(SUBJECT) == {"s1"}


async def test_the_last_wait_to_leave_a_subject_says_so_and_it_is_forgotten() -> None:
    table = RoutingTable()
    waits = [wait("s1", "m1"), wait("s1", "m1"), wait("s2", None)]
    for w in waits:
        table.add(w)
    assert len(table) == 1
    assert [table.remove(w) for w in waits] == [False, False, True]
    assert table.remove(waits[0]) is False  # twice: nothing happens
    assert len(table) == 0 and not table.has_session(SUBJECT, "s1")


async def test_a_closed_message_fails_its_waits_and_the_waits_for_any_message() -> None:
    table = RoutingTable()
    mine, anything, unrelated = wait("s1", "m1"), wait("s1", None), wait("s1", "m2")
    for w in (mine, anything, unrelated):
        table.add(w)
    table.fail_message(SUBJECT, "s1", "m1", rejected)
    assert isinstance(mine.future.exception(), SessionRejectedError)
    assert isinstance(anything.future.exception(), SessionRejectedError)
    assert not unrelated.future.done()


async def test_a_closed_session_fails_its_waits_for_any_message_on_every_subject() -> None:
    table = RoutingTable()
    here, there = wait("s1", None), wait("s1", None, "sessions.responses.other")
    mine, bystander = wait("s1", "m1", "sessions.responses.third"), wait("s2", None)
    for w in (here, there, mine, bystander):
        table.add(w)
    table.fail_anything("s1", SessionRejectedError)
    assert isinstance(here.future.exception(), SessionRejectedError)
    assert isinstance(there.future.exception(), SessionRejectedError)
    # A wait for one message ends as its message did (its subject's feed tells).
    assert not mine.future.done() and not bystander.future.done()
    assert table.subjects_awaiting_messages("s1") == ["sessions.responses.third"]
    assert table.subjects_awaiting_messages("s2") == []


async def test_fail_all_ends_every_wait_and_empties_the_table() -> None:
    table = RoutingTable()
    waits = [wait("s1", "m1"), wait("s2", None, "sessions.responses.x")]
    for w in waits:
        table.add(w)
    table.fail_all(NatsUnavailableError("closed"))
    assert all(isinstance(w.future.exception(), NatsUnavailableError) for w in waits)
    assert len(table) == 0


def test_payloads_that_the_contract_does_not_allow_settle_nothing() -> None:
    good = payloads.answer()
    assert parse_payload(json.dumps(good).encode()) == Answer("s1", "m1", good)
    hostile: list[object] = [
        {"session_id": "s1", "junk": 1},  # no message id: must not settle the whole session
        {k: v for k, v in good.items() if k != "channel_id"},  # a member missing
        {**good, "response": "yes"},  # the wrong type
        {**good, "message_id": 7},
        {**good, "responded_at": "yesterday"},
        {**good, "extra": 1},  # additionalProperties: false
        {"event": "session.opened", "session_id": "s1", "status": "FAILED", "at": "x"},
        {
            "event": "session.status",
            "session_id": "s1",
            "status": "ACTIVE",
            "at": "2026-11-30T10:00:00Z",
        },
        {"event": "session.status", "status": "FAILED"},
        {"event": "session.status", "session_id": "s1", "status": ["FAILED"], "at": "x"},
        [good],
        "text",
    ]
    for payload in hostile:
        assert parse_payload(json.dumps(payload).encode()) is None, payload
    assert parse_payload(b"not json") is None
    assert parse_payload(b"[" * 100_000) is None  # hostile nesting
    status = {"event": "session.status", "session_id": "s1", "status": "FAILED"}
    status["at"] = "2026-11-30T10:00:00+00:00"
    assert parse_payload(json.dumps(status).encode()) == StatusEvent("s1", "FAILED")
