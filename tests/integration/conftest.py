"""What the integration tests share: unique ids, and an async client of the module's stack."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from session_client import AsyncSessionClient
from session_client.testing import LocalStack

_ids = itertools.count()


def unique(prefix: str) -> str:
    """An id no other test of the run uses (the stack is shared by a module's tests)."""
    return f"{prefix}-{next(_ids)}"


@pytest.fixture
async def aclient(stack: LocalStack) -> AsyncIterator[AsyncSessionClient]:
    """An :class:`AsyncSessionClient` of the module's stack, closed after the test."""
    async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as async_client:
        yield async_client
