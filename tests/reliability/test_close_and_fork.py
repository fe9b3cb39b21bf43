"""Scenarios 9 and 10: ``close()`` while dozens of threads are in calls, and ``os.fork()``
while the parent's threads keep waiting for answers (issue 17, items 1 and 2)."""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from session_client import ClientClosedError, SessionClient
from session_client.testing import LocalStack

from ..children import reap
from .conftest import Tally, echo, question, scale

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

CALLERS, WAITERS = 30, 10


def _close_during_calls(stack: LocalStack, sid: str) -> tuple[Counter[str], int, int, float]:
    """One round: ``CALLERS`` threads calling and ``WAITERS`` waiting, then ``close()``. The
    threads' outcomes, the threads still blocked, the tasks left on the loop, close's time."""
    client = SessionClient(stack.api_url, [stack.nats_url])
    client.create_session(sid)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def call(work: Callable[[], object]) -> None:
        try:
            while True:
                work()
        except BaseException as exc:
            with lock:
                outcomes[type(exc).__name__] += 1

    works: list[Callable[[], object]] = [lambda: client.get_session(sid)] * CALLERS
    works += [lambda: client.wait_for_response(sid, "subj.close", timeout=60)] * WAITERS
    threads = [threading.Thread(target=call, args=(work,), daemon=True) for work in works]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    client.close()
    close_seconds = time.monotonic() - started
    deadline = time.monotonic() + 10
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    loop = client._loop._loop
    assert loop is not None
    blocked = sum(thread.is_alive() for thread in threads)
    return outcomes, blocked, len(asyncio.all_tasks(loop)), close_seconds


def test_close_under_load_ends_every_call_with_client_closed_error(
    figures: Callable[..., None],
) -> None:
    rounds = scale(3, 20)
    outcomes: Counter[str] = Counter()
    blocked = tasks_left = 0
    slowest_close = 0.0
    with LocalStack() as stack:
        stack.human.stay_silent()
        for round_ in range(rounds):
            ended, stuck, left, seconds = _close_during_calls(stack, f"close-load-{round_}")
            outcomes += ended
            blocked, tasks_left = blocked + stuck, tasks_left + left
            slowest_close = max(slowest_close, seconds)
    expected = rounds * (CALLERS + WAITERS)
    delivered = outcomes.pop(ClientClosedError.__name__, 0)
    figures(
        "9. close() while 30 threads call and 10 wait, in each round",
        expected=expected,
        delivered=delivered,
        rounds=rounds,
        other_outcomes=dict(outcomes),
        blocked_threads=blocked,
        tasks_left_on_the_loop=tasks_left,
        slowest_close_s=round(slowest_close, 3),
    )
    assert (delivered, dict(outcomes), blocked, tasks_left) == (expected, {}, 0, 0)


def _child(client: SessionClient, name: str, waits: int, result: Path) -> None:
    """In a forked child: ``waits`` round trips with the parent's client; the count of own
    answers goes to ``result``."""
    tally = Tally(waits)
    for i in range(waits):
        sid = f"{name}-{i}"
        try:
            client.create_session(sid)
            tally.add(sid, client.send_and_wait_for_response(sid, "c", question(sid), "fork", 30))
        except Exception as exc:
            tally.add(sid, exc)
    result.write_text(str(tally.delivered))
    client.close()


def test_fork_under_load_every_child_and_the_parent_get_their_answers(
    figures: Callable[..., None],
) -> None:
    children, parent_threads, per_child = scale(2, 8), scale(4, 16), scale(5, 50)
    parent = Tally(0)
    stop = threading.Event()
    ids = itertools.count()
    with LocalStack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.human.answer_using(echo)
        client = SessionClient(stack.api_url, [stack.nats_url])

        def keep_waiting() -> None:
            while not stop.is_set():
                sid = f"fork-parent-{next(ids)}"
                parent.expected += 1
                try:
                    client.create_session(sid)
                    answer = client.send_and_wait_for_response(sid, "c", question(sid), "fork", 30)
                except Exception as exc:
                    parent.add(sid, exc)
                else:
                    parent.add(sid, answer)

        threads = [
            threading.Thread(target=keep_waiting, daemon=True) for _ in range(parent_threads)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        pids = []
        for n in range(children):  # each fork copies threads that are mid-call
            pid = os.fork()
            if pid == 0:
                try:
                    _child(client, f"fork-child-{n}", per_child, Path(tmp, str(n)))
                except BaseException:
                    traceback.print_exc()
                finally:
                    os._exit(0)
            pids.append(pid)
            time.sleep(0.1)
        deadline = time.monotonic() + 120
        hung = sum(reap(pid, deadline) is None for pid in pids)
        stop.set()
        for thread in threads:
            thread.join(40)
        client.close()
        in_children = sum(
            int(Path(tmp, str(n)).read_text()) if Path(tmp, str(n)).exists() else 0
            for n in range(children)
        )
    expected = children * per_child + parent.expected
    figures(
        f"10. os.fork() x{children} while {parent_threads} parent threads wait",
        expected=expected,
        delivered=in_children + parent.delivered,
        duplicated=parent.duplicated,
        wrong=parent.wrong,
        children_answered=f"{in_children} of {children * per_child}",
        parent_answered=f"{parent.delivered} of {parent.expected}",
        parent_failures=dict(parent.failures),
        hung_children=hung,
    )
    assert hung == 0
    assert (in_children, parent.delivered) == (children * per_child, parent.expected)
