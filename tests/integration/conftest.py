"""What the integration tests share: unique ids, pending waits, and an async client of the module's
stack."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterable

import pytest

from session_client import AsyncSessionClient
from session_client.testing import LocalStack
from session_client.types import ResponsePayload

_ids = itertools.count()


def unique(prefix: str) -> str:
    """An id no other test of the run uses (the stack is shared by a module's tests)."""
    return f"{prefix}-{next(_ids)}"


def pending_waits(
    client: AsyncSessionClient, session_id: str, subject_ids: Iterable[str]
) -> list[asyncio.Task[ResponsePayload]]:
    """A ``send_and_wait_for_response`` of session ``session_id`` on each subject, as tasks
    (30 s timeouts: the tests end them)."""
    return [
        asyncio.create_task(
            client.send_and_wait_for_response(session_id, "c", "m", subject_id, timeout=30)
        )
        for subject_id in subject_ids
    ]


@pytest.fixture
async def aclient(stack: LocalStack) -> AsyncIterator[AsyncSessionClient]:
    """An :class:`AsyncSessionClient` of the module's stack, closed after the test."""
    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as async_client:
        yield async_client
