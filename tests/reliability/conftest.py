"""The fault suite's shared pieces: scenario size, figures for RELIABILITY.md, and a tally of
answers that tells delivered from duplicated or misrouted.

Every scenario runs small in ``make test``; ``RELIABILITY_FULL=1`` (``make reliability``)
runs it at the size the issue asks for, and ``RELIABILITY_REPORT=path`` appends each
scenario's figures to ``path`` as JSON lines.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from session_client import AsyncSessionClient
from session_client.testing import LocalStack

FULL = os.environ.get("RELIABILITY_FULL") == "1"


def scale(fast: int, full: int) -> int:
    """The scenario size: ``fast`` in ``make test``, ``full`` in ``make reliability``."""
    return full if FULL else fast


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_mb() -> float:
    """This process's resident set size in MiB (Linux)."""
    return _status_mb("VmRSS")


def reset_peak_rss() -> None:
    """Start :func:`peak_rss_mb` afresh from the current RSS (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB since start or :func:`reset_peak_rss`."""
    return _status_mb("VmHWM")


def sessions_on_subjects(
    prefix: str, count: int, subjects: int
) -> tuple[list[str], Callable[[str], str]]:
    """``count`` session ids, and the function that spreads them over ``subjects`` subjects."""

    def subject_of(session_id: str) -> str:
        return f"{prefix}.{int(session_id.rsplit('-', 1)[1]) % subjects}"

    return [f"{prefix}-{i}" for i in range(count)], subject_of


def question(session_id: str) -> str:
    """The message sent for ``session_id``; the human echoes it, so answers are attributable."""
    return f"question for {session_id}"


def echo(message: dict[str, Any]) -> dict[str, Any]:
    """The answer a human gives to ``message``: its own text, so misrouting shows."""
    return {"echo": message["message"]}


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the HTTP requests that reach the network."""

    def __init__(self) -> None:
        self.requests = 0
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class Tally:
    """Outcomes of many waits, one per session: delivered, wrong, duplicated, failed."""

    expected: int
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)

    def add(self, session_id: str, outcome: dict[str, Any] | BaseException) -> None:
        """Record what the wait of ``session_id`` returned or raised."""
        if isinstance(outcome, BaseException):
            self.failures[type(outcome).__name__] += 1
        else:
            self.answers[session_id] = outcome

    def is_own(self, session_id: str, answer: dict[str, Any]) -> bool:
        """Whether ``answer`` is the answer to the question of ``session_id``."""
        return answer.get("session_id") == session_id and answer.get("response") == {
            "echo": question(session_id)
        }

    @property
    def delivered(self) -> int:
        """Waits that returned their own answer."""
        return sum(self.is_own(sid, answer) for sid, answer in self.answers.items())

    @property
    def wrong(self) -> int:
        """Waits that returned someone else's (or a forged) answer."""
        return len(self.answers) - self.delivered

    @property
    def duplicated(self) -> int:
        """Answers returned to more than one wait (by message id), beyond the first."""
        counts = Counter(answer.get("message_id") for answer in self.answers.values())
        return sum(count - 1 for count in counts.values())

    def figures(self) -> dict[str, Any]:
        """The figures reported into RELIABILITY.md."""
        return {
            "expected": self.expected,
            "delivered": self.delivered,
            "duplicated": self.duplicated,
            "wrong": self.wrong,
            "failures": dict(self.failures),
        }


async def wait_all(
    client: AsyncSessionClient,
    session_ids: list[str],
    subject_of: Callable[[str], str],
    *,
    timeout: float,
) -> Tally:
    """``send_and_wait_for_response`` for every session at once; tally what comes back."""
    tally = Tally(len(session_ids))

    async def one(session_id: str) -> None:
        try:
            answer = await client.send_and_wait_for_response(
                session_id, "chan", question(session_id), subject_of(session_id), timeout
            )
        except Exception as exc:
            tally.add(session_id, exc)
        else:
            tally.add(session_id, answer)

    await asyncio.gather(*(one(session_id) for session_id in session_ids))
    return tally


async def create_sessions(
    client: AsyncSessionClient, session_ids: list[str], subject_of: Callable[[str], str]
) -> None:
    """Create the sessions, a few at a time."""
    semaphore = asyncio.Semaphore(16)

    async def one(session_id: str) -> None:
        async with semaphore:
            await client.create_session(session_id, subject_id=subject_of(session_id))

    await asyncio.gather(*(one(session_id) for session_id in session_ids))


async def answer_spread(
    stack: LocalStack, count: int, window: float, answerer: AsyncSessionClient
) -> None:
    """Answer the ``count`` delivered messages in random order, spread over ``window`` s."""
    messages = await asyncio.to_thread(stack.human.wait_for_messages, count, 60)
    random.shuffle(messages)

    async def one(index: int, message: dict[str, Any]) -> None:
        await asyncio.sleep(window * index / count)
        await answerer.submit_response(message["session_id"], message["message_id"], echo(message))

    await asyncio.gather(*(one(i, message) for i, message in enumerate(messages)))


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Callable[..., None]]:
    """``figures(scenario, expected=..., delivered=..., duplicated=..., **details)`` reports
    a scenario's result to RELIABILITY.md (when ``RELIABILITY_REPORT`` is set)."""
    started = time.monotonic()
    rows: list[dict[str, Any]] = []

    def record(scenario: str, **values: Any) -> None:
        rows.append({"scenario": scenario, "test": request.node.nodeid, **values})

    yield record
    for row in rows:
        report({**row, "seconds": round(time.monotonic() - started, 1)})


def report(row: dict[str, Any]) -> None:
    """Append ``row`` to the ``RELIABILITY_REPORT`` file, if one is asked for."""
    path = os.environ.get("RELIABILITY_REPORT")
    if path:
        with Path(path).open("a") as out:
            out.write(json.dumps(row) + "\n")
