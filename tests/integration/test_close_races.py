"""Closing a client while other threads or tasks use it: every call ends, typed, at once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import pytest

from session_client import (
    AsyncSessionClient,
    ClientClosedError,
    SessionClient,
    SessionClientError,
)
from session_client.testing import LocalStack, SimulatedHuman

from .conftest import unique

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("http_backend")]


def test_close_ends_every_call_of_every_thread_with_client_closed_error(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.stay_silent()
    client = SessionClient(stack.api_url, [stack.nats_url])
    sid = unique("close-race")
    client.create_session(sid)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def record(outcome: str) -> None:
        with lock:
            outcomes[outcome] += 1

    def get_forever() -> None:
        try:
            while True:
                client.get_session(sid)
        except ClientClosedError:
            record("closed")
        except BaseException as exc:  # anything else is a defect
            record(f"other: {exc!r}")

    def wait_long() -> None:
        try:
            client.wait_for_response(sid, "subj.close-race", timeout=60)
        except ClientClosedError:
            record("closed")
        except BaseException as exc:
            record(f"other: {exc!r}")

    threads = [threading.Thread(target=get_forever, daemon=True) for _ in range(20)]
    threads += [threading.Thread(target=wait_long, daemon=True) for _ in range(10)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # every thread is in a call, or between two
    started = time.monotonic()
    client.close()
    closed_in = time.monotonic() - started
    for thread in threads:
        thread.join(5)
    assert [thread for thread in threads if thread.is_alive()] == []
    assert outcomes == {"closed": 30}
    assert closed_in < 5
    loop_thread = client._loop
    assert loop_thread._thread is not None and not loop_thread._thread.is_alive()
    assert loop_thread._loop is not None and loop_thread._loop.is_closed()
    with pytest.raises(ClientClosedError) as raised:
        client.get_session(sid)
    assert isinstance(raised.value, SessionClientError) and isinstance(raised.value, RuntimeError)
    client.close()  # idempotent


async def test_aclose_ends_the_calls_of_other_tasks_with_client_closed_error(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.stay_silent()
    client = AsyncSessionClient(stack.api_url, [stack.nats_url])
    sid = unique("aclose-race")
    await client.create_session(sid)

    async def get_forever() -> None:
        while True:
            await client.get_session(sid)

    calls = [asyncio.create_task(get_forever()) for _ in range(10)]
    calls += [
        asyncio.create_task(client.wait_for_response(sid, "subj.aclose", timeout=60))
        for _ in range(5)
    ]
    await asyncio.sleep(0.5)
    await asyncio.wait_for(client.aclose(), 5)
    outcomes = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 5)
    assert [type(outcome) for outcome in outcomes] == [ClientClosedError] * 15
    # The tasks were only told to end their calls: none is left marked as cancelling.
    assert [task.cancelling() for task in calls] == [0] * 15
    with pytest.raises(ClientClosedError):
        await client.send_message(sid, "ch", "late")
