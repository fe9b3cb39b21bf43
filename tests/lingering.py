"""Waiting out the linger of released subscriptions (``session_client._wait._linger``): a
subscription outlives its last wait by up to twice ``LINGER_SECONDS``, so a test that checks
that none is left asks again until then, and a leak still shows."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from session_client._wait._nats import open_subscriptions
from session_client._wait._waiter import LINGER_SECONDS

#: Past this, a subscription still open is a leak (twice the linger, and room for a busy loop).
LINGER_OVER = 2 * LINGER_SECONDS + 2.0


def subscription_ids(client: Any) -> set[int]:
    """The ids of every subscription on the client's NATS connection, as nats-py holds them."""
    connection = client.nats_connection
    return set() if connection is None else set(open_subscriptions(connection))


def nats_subscriptions(client: Any) -> int:
    """Subscriptions on the client's real NATS connection, as nats-py holds them, but for the
    one nats-py keeps for the replies to its own requests (JetStream's API)."""
    connection = client.nats_connection
    if connection is None:
        return 0
    held = open_subscriptions(connection).values()
    return sum(not sub.subject.startswith("_INBOX.") for sub in held)


def _open(client: Any) -> int:
    return int(client.subscription_count) + nats_subscriptions(client)


async def subscriptions_left(client: Any) -> int:
    """The async client's open subscriptions (its own count and nats-py's) once every linger
    is over: 0 unless one leaked."""
    deadline = time.monotonic() + LINGER_OVER
    while _open(client) and time.monotonic() < deadline:  # noqa: ASYNC110 - no event tells it
        await asyncio.sleep(0.05)
    return _open(client)


def subscriptions_left_sync(client: Any) -> int:
    """:func:`subscriptions_left` for a ``SessionClient``."""
    deadline = time.monotonic() + LINGER_OVER
    while _open(client.async_client) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _open(client.async_client)
