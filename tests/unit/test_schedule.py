"""The recovery schedule of a subject, pure: when rounds run and what they ask."""

from __future__ import annotations

from session_client._wait._schedule import Round, Schedule, jittered


def rounds(schedule: Schedule, count: int) -> list[tuple[float, Round]]:
    return [schedule.next_round() for _ in range(count)]


def test_while_all_is_well_only_the_slow_safety_net_asks_the_rest_api() -> None:
    assert rounds(Schedule(), 5) == [
        (60.0, Round.REST),
        (120.0, Round.REST),
        (240.0, Round.REST),
        (300.0, Round.REST),
        (300.0, Round.REST),
    ]


def test_while_nats_is_down_the_rest_api_is_polled_backing_off_to_30_s() -> None:
    schedule = Schedule()
    schedule.next_round()
    schedule.disconnected()
    assert [delay for delay, _ in rounds(schedule, 7)] == [1, 2, 4, 8, 16, 30, 30]
    assert Schedule(disconnected=True).next_round() == (1.0, Round.REST)


def test_a_reconnect_replays_at_once_and_again_then_goes_back_to_the_safety_net() -> None:
    schedule = Schedule(disconnected=True)
    rounds(schedule, 3)
    schedule.reconnected()
    assert schedule.recovering
    assert rounds(schedule, 2) == [(0.0, Round.REPLAY), (2.0, Round.REPLAY)]
    assert rounds(schedule, 2) == [(60.0, Round.REST), (120.0, Round.REST)]
    assert not schedule.recovering


def test_a_safety_net_that_ran_for_days_does_not_overflow() -> None:
    schedule = Schedule()
    assert rounds(schedule, 5000)[-1] == (300.0, Round.REST)


def test_jitter_only_shortens_by_up_to_a_quarter() -> None:
    assert jittered(8.0, 0.0) == 8.0
    assert jittered(8.0, 0.999) > 6.0
    assert jittered(0.0, 0.5) == 0.0
