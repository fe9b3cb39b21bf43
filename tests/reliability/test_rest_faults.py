"""Scenario 3: the REST API refuses 20% of requests (503/429 + Retry-After), resets 5% of
connections and drops 5% of responses after processing; every operation still succeeds within
``max_retries`` and the server's own records hold no duplicate."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

from session_client import AsyncSessionClient
from session_client.testing import Faults, LocalStack

from .conftest import Tally, echo, question, scale

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

FAULTS = Faults(unavailable=0.20, reset=0.05, drop_response=0.05, retry_after="1", seed=5)
# An attempt fails with probability 0.3, so 9 attempts all fail with probability 2e-5.
MAX_RETRIES = 8


async def test_every_operation_survives_rest_faults_without_duplicates(
    figures: Callable[..., None],
) -> None:
    count = scale(30, 200)
    operations: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    tally = Tally(count)
    with LocalStack(faults=FAULTS) as stack:
        stack.human.answer_using(echo)
        assert stack.server is not None and stack.server.faults is not None
        semaphore = asyncio.Semaphore(10)
        async with AsyncSessionClient(
            stack.api_url, [stack.nats_url], max_retries=MAX_RETRIES
        ) as client:

            async def one(i: int) -> None:
                session_id, subject_id = f"faults-{i}", f"faults.{i % 5}"
                steps = {
                    "create_session": lambda: client.create_session(
                        session_id, {"i": i}, subject_id=subject_id
                    ),
                    "send_and_wait_for_response": lambda: client.send_and_wait_for_response(
                        session_id, "chan", question(session_id), subject_id, timeout=60
                    ),
                    "get_session": lambda: client.get_session(session_id),
                    "list_sessions": lambda: client.list_sessions(subject_id=subject_id, limit=5),
                    "reject_session": lambda: client.reject_session(session_id),
                }
                async with semaphore:
                    for name, step in steps.items():
                        try:
                            result = await step()
                        except Exception as exc:
                            failures[f"{name}: {type(exc).__name__}"] += 1
                            return
                        operations[name] += 1
                        if name == "send_and_wait_for_response":
                            tally.add(session_id, result)

            await asyncio.gather(*(one(i) for i in range(count)))
            try:
                await client.expire_sessions()
                operations["expire_sessions"] += 1
            except Exception as exc:
                failures[f"expire_sessions: {type(exc).__name__}"] += 1
        messages = stack.server.store.count_messages()
        everything = {"subject_id": None, "limit": 1000, "cursor": None, "max_bytes": 1 << 30}
        sessions = len(stack.server.store.list_sessions(status=None, **everything)["items"])
        rejected = stack.server.store.list_sessions(status="FAILED", **everything)["items"]
        injected = dict(stack.server.faults.injected)
    expected_operations = count * 5 + 1
    figures(
        "3. REST faults (20% 503/429, 5% resets, 5% dropped responses)",
        expected=expected_operations,
        delivered=sum(operations.values()),
        duplicated=(messages - count) + (sessions - count),
        answers_delivered=tally.delivered,
        answers_expected=count,
        injected=injected,
        failures=dict(failures),
        max_retries=MAX_RETRIES,
    )
    assert not failures, failures
    assert sum(operations.values()) == expected_operations
    assert tally.delivered == count and tally.wrong == 0 and tally.duplicated == 0
    assert messages == count, "a retried send created a second message"
    assert sessions == count and len(rejected) == count
    assert set(injected) == {"503", "429", "reset", "drop_response"}, injected
