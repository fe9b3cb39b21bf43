"""The REST re-check schedule of pending waits, with the delays shrunk to milliseconds."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from session_client import rechecks
from session_client.rechecks import Rechecks
from session_client.responses import Waiter


class Checks:
    """A fake REST check: records when each waiter was checked; may fail or settle it."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.error: Exception | None = None
        self.answer: dict[str, str] | None = None
        self.gate: asyncio.Event | None = None
        self.disconnected = False

    async def __call__(self, waiter: Waiter) -> None:
        self.times.append(asyncio.get_running_loop().time())
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        if self.answer is not None:
            waiter.resolve(self.answer)


@pytest.fixture(autouse=True)
def short_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rechecks, "_AFTER_EVENT", 0.02)
    monkeypatch.setattr(rechecks, "_WHILE_DOWN_MAX", 0.08)
    monkeypatch.setattr(rechecks, "_SAFETY_FIRST", 0.2)
    monkeypatch.setattr(rechecks, "_SAFETY_MAX", 0.4)


def make(checks: Checks) -> Rechecks:
    return Rechecks(checks, lambda: checks.disconnected)


async def test_a_connected_wait_is_checked_only_by_the_slow_safety_net() -> None:
    checks = Checks()
    schedule, waiter = make(checks), Waiter("subj", "s", "m")
    started = asyncio.get_running_loop().time()
    schedule.watch(waiter)
    await asyncio.sleep(0.1)
    assert checks.times == []
    await asyncio.sleep(0.2)
    assert len(checks.times) == 1 and checks.times[0] - started >= 0.2 * 0.75
    schedule.unwatch(waiter)
    assert schedule.watched == 0


async def test_a_connection_change_checks_every_waiter_at_once_then_backs_off() -> None:
    checks = Checks()
    schedule = make(checks)
    waiters = [Waiter("subj", "s", f"m{n}") for n in range(3)]
    for waiter in waiters:
        schedule.watch(waiter)
    schedule.connection_changed()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(checks.times) == 3  # at once, one per waiter
    await asyncio.sleep(0.2)  # then after ~0.02, ~0.04, ~0.08 s: backing off, not a busy loop
    assert 3 + 3 * 2 <= len(checks.times) <= 3 + 3 * 5
    for waiter in waiters:
        schedule.unwatch(waiter)


async def test_while_down_checks_poll_up_to_their_limit() -> None:
    checks = Checks()
    checks.disconnected = True
    schedule, waiter = make(checks), Waiter("subj", "s", "m")
    schedule.watch(waiter)
    await asyncio.sleep(0.6)
    gaps = [b - a for a, b in itertools.pairwise(checks.times)]
    assert len(checks.times) >= 5
    assert max(gaps) <= 0.08 + 0.02  # capped at the limit (plus scheduling slack)
    schedule.unwatch(waiter)


async def test_a_failed_check_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    checks = Checks()
    checks.error = RuntimeError("REST is down")
    schedule, waiter = make(checks), Waiter("subj", "s", "m")
    schedule.watch(waiter)
    schedule.connection_changed()
    with caplog.at_level(logging.WARNING, "session_client.rechecks"):
        await asyncio.sleep(0.05)
    assert len(checks.times) >= 2
    assert "REST is down" in caplog.text
    checks.error, checks.answer = None, {"message_id": "m"}
    await asyncio.sleep(0.1)
    assert waiter.future.result() == {"message_id": "m"}
    checks_when_settled = len(checks.times)
    await asyncio.sleep(0.1)
    assert len(checks.times) == checks_when_settled  # a settled waiter is not checked again
    schedule.unwatch(waiter)


async def test_unwatch_cancels_the_timer_and_a_check_in_flight() -> None:
    checks = Checks()
    checks.gate = asyncio.Event()
    schedule, waiter = make(checks), Waiter("subj", "s", "m")
    schedule.watch(waiter)
    schedule.connection_changed()
    await asyncio.sleep(0.01)
    tasks = asyncio.all_tasks()
    assert len(checks.times) == 1 and len(tasks) == 2  # this test and the check
    schedule.unwatch(waiter)
    await asyncio.sleep(0.3)
    assert len(checks.times) == 1 and len(asyncio.all_tasks()) == 1


async def test_a_wait_that_missed_a_connection_change_is_checked_at_once() -> None:
    # E.g. NATS reconnected while the message was being sent: connection_changed() came
    # before watch(), so watch() must not start on the slow safety net.
    checks = Checks()
    schedule, waiter = make(checks), Waiter("subj", "s", "m")
    schedule.watch(waiter, missed_change=True)
    await asyncio.sleep(0.01)
    assert len(checks.times) == 1
    await asyncio.sleep(0.05)  # then the follow-ups of a change, not the safety net
    assert len(checks.times) >= 2
    schedule.unwatch(waiter)
