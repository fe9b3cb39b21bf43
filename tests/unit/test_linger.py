"""The linger of released subscriptions: pure bookkeeping, tested without a server."""

from __future__ import annotations

from session_client._wait._linger import Linger


def test_a_parked_value_is_taken_back_once() -> None:
    linger: Linger[str, int] = Linger(duration=1.0, limit=10)
    assert linger.park("a", 1, now=0.0) == []
    assert len(linger) == 1
    assert linger.take("a") == 1
    assert linger.take("a") is None
    assert len(linger) == 0


def test_values_expire_after_the_duration_in_the_order_parked() -> None:
    linger: Linger[str, int] = Linger(duration=1.0, limit=10)
    linger.park("a", 1, now=0.0)
    linger.park("b", 2, now=0.5)
    linger.park("c", 3, now=0.9)
    assert linger.expired(now=0.99) == []
    assert linger.expired(now=1.5) == [1, 2]
    assert len(linger) == 1
    assert linger.expired(now=10.0) == [3]
    assert len(linger) == 0


def test_parking_a_key_again_restarts_its_time() -> None:
    linger: Linger[str, int] = Linger(duration=1.0, limit=10)
    linger.park("a", 1, now=0.0)
    linger.park("b", 2, now=0.5)
    linger.park("a", 3, now=0.8)
    assert linger.expired(now=1.6) == [2]
    assert linger.take("a") == 3


def test_past_the_limit_the_oldest_end_at_once() -> None:
    linger: Linger[str, int] = Linger(duration=1.0, limit=2)
    assert linger.park("a", 1, now=0.0) == []
    assert linger.park("b", 2, now=0.1) == []
    assert linger.park("c", 3, now=0.2) == [1]
    assert len(linger) == 2
    assert linger.take("a") is None


def test_a_value_taken_back_does_not_expire() -> None:
    linger: Linger[str, int] = Linger(duration=1.0, limit=10)
    linger.park("a", 1, now=0.0)
    linger.park("b", 2, now=0.1)
    assert linger.take("a") == 1
    assert linger.expired(now=5.0) == [2]


def test_clear_returns_everything_parked() -> None:
    linger: Linger[str, int] = Linger(duration=1.0, limit=10)
    linger.park("a", 1, now=0.0)
    linger.park("b", 2, now=0.1)
    assert linger.clear() == [1, 2]
    assert len(linger) == 0
