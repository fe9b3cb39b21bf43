"""Far-off recovery rounds under one timer: pure bookkeeping, tested without a loop."""

from __future__ import annotations

from session_client._wait._due import DueTimes


def test_the_first_due_time_arms_the_timer_and_later_ones_ride_on_it() -> None:
    due: DueTimes[str] = DueTimes(slack=1.0)
    assert due.add("a", 60.0) == 60.0
    assert due.add("b", 75.0) is None  # the timer at 60 comes first
    assert due.add("c", 59.5) is None  # fired by the timer at 60: half a second late at most
    assert due.add("d", 50.0) == 50.0  # too early for that timer: armed again


def test_the_timer_hands_out_what_is_due_and_says_when_to_come_back() -> None:
    due: DueTimes[str] = DueTimes(slack=1.0)
    due.add("a", 60.0)
    due.add("b", 60.2)
    due.add("c", 90.0)
    assert due.expired(now=60.0) == (["a"], 61.0)  # b is near: in a slack, not at once
    assert due.expired(now=61.0) == (["b"], 90.0)
    assert due.expired(now=90.0) == (["c"], None)
    assert due.add("d", 200.0) == 200.0  # no timer left: armed again


def test_a_discarded_key_is_not_handed_out() -> None:
    due: DueTimes[str] = DueTimes(slack=1.0)
    due.add("a", 60.0)
    due.add("b", 70.0)
    assert not due.discard("a")  # b is left: the timer stays
    assert not due.discard("never added")
    assert due.expired(now=60.0) == ([], 70.0)  # the timer armed for a fires for nothing
    assert due.expired(now=70.0) == (["b"], None)


def test_discarding_the_last_key_lets_the_timer_go() -> None:
    due: DueTimes[str] = DueTimes(slack=1.0)
    due.add("a", 60.0)
    assert due.discard("a")  # the owner cancels its timer
    assert due.add("b", 100.0) == 100.0  # and arms one again for the next


def test_adding_a_key_again_moves_its_time() -> None:
    due: DueTimes[str] = DueTimes(slack=1.0)
    due.add("a", 60.0)
    assert due.add("a", 120.0) is None
    assert due.expired(now=60.0) == ([], 120.0)


def test_clear_forgets_every_key_and_the_timer() -> None:
    due: DueTimes[str] = DueTimes(slack=1.0)
    due.add("a", 60.0)
    due.clear()
    assert due.add("b", 100.0) == 100.0
    assert due.expired(now=100.0) == (["b"], None)
