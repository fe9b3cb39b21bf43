"""Scenario 14: a process holding a ``LocalStack`` is SIGKILLed; its nats-server and its
directory end with it, also after the server was restarted (issue 26, item 8)."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import pytest

from ..stack_holder import kill_holder
from .conftest import scale

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

BOUND_S = 10.0


def test_a_sigkilled_holder_leaves_no_process_and_no_directory(
    figures: Callable[..., None],
) -> None:
    rounds = scale(2, 20)
    left = [kill_holder(restart=n % 2 == 1, bound=BOUND_S) for n in range(rounds)]
    took = [round(leftovers.seconds, 3) for leftovers in left]
    clean = sum(leftovers.clean for leftovers in left)
    figures(
        f"14. SIGKILLed LocalStack holder, {rounds} rounds",
        expected=rounds,
        delivered=clean,
        processes_left=sum(len(leftovers.processes) for leftovers in left),
        directories_left=sum(leftovers.directory_left for leftovers in left),
        max_s=max(took),
        median_s=statistics.median(took),
        bound_s=BOUND_S,
        before="every round: its nats-server running on, its directory in place",
        conditions="a process starts a LocalStack (every second round also restarts its "
        "nats-server) and is SIGKILLed; delivered: every process naming the stack's directory "
        "ended and the directory gone within bound_s",
    )
    assert clean == rounds, left
