"""The pure parts of the waiting policies (issue 30): derived ids, the schedule and the quorum
tally - no server, no clock."""

from __future__ import annotations

from typing import Any

import pytest

from session_client._policies.ids import follow_up_of, quorum_id, reminder_id
from session_client._policies.schedule import plan, seconds_of, split_due
from session_client._policies.tally import Tally


def test_steps_fall_due_in_order_counted_from_the_first_message() -> None:
    steps = plan("m", "chat", "Ok?", [60, 300], [(120, "boss"), (300, "ceo")])
    assert [(s.delay, s.message_id, s.channel_id) for s in steps] == [
        (60, "m~r1", "chat"),
        (120, "m~e1", "boss"),
        (300, "m~r2", "chat"),
        (300, "m~e2", "ceo"),
    ]
    assert steps[0].message == "Reminder: Ok?" and steps[1].message == "Ok?"
    assert split_due(steps, 0) == ([], 60)
    due, later = split_due(steps, 130)  # e.g. resumed 130 s after the first was created
    assert [s.message_id for s in due] == ["m~r1", "m~e1"] and later == 170
    assert split_due(steps, 301) == (list(steps), None)


@pytest.mark.parametrize(
    ("reminders", "escalate_to", "error"),
    [
        ([-1], [], ValueError),
        ([float("nan")], [], ValueError),
        (["5"], [], TypeError),
        ([], [(5,)], TypeError),
        ([], [(5, "bad channel!")], ValueError),
    ],
)
def test_bad_policies_are_refused_before_any_io(
    reminders: Any, escalate_to: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        plan("m", "chat", "Ok?", reminders, escalate_to)


def test_derived_ids_are_valid_message_ids_or_refused() -> None:
    assert reminder_id("order-1:approval", 2) == "order-1:approval~r2"
    assert quorum_id("v", 3) == "v~q3"
    assert follow_up_of("a~b~e12") == ("a~b", "escalation")
    assert follow_up_of("a~r1") == ("a", "reminder")
    assert follow_up_of("a~q1") is None and follow_up_of("a~r0") is None
    with pytest.raises(ValueError, match="too long"):
        reminder_id("x" * 126, 1)


def test_created_at_is_read_as_unix_seconds() -> None:
    assert seconds_of("2026-11-25T10:00:01.5Z") - seconds_of("2026-11-25T10:00:00Z") == 1.5


def answer(channel: str, approved: bool = True) -> dict[str, Any]:
    return {"channel_id": channel, "response": {"approved": approved}}


def test_the_tally_reaches_the_quorum_or_says_it_cannot() -> None:
    tally = Tally(2, ["q1", "q2", "q3"], lambda a: a["response"]["approved"])
    tally.answered("q2", answer("b", approved=False))
    assert tally.reachable and not tally.reached
    tally.answered("q1", answer("a"))
    assert tally.unanswered == ["q3"]
    tally.failed_with("q3", RuntimeError("closed"))
    assert not tally.reachable
    assert [a["channel_id"] for a in tally.declined] == ["b"]

    tally = Tally(1, ["q1", "q2"], None)
    tally.answered("q2", answer("b", approved=False))
    assert tally.reached and tally.unanswered == ["q1"]
