"""Scenario 2: a 3-node nats-server cluster with an R3 stream; the node the client is connected
to is SIGKILLed mid-wait while the server publishes answers through another node."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import nats
import pytest
from nats.js.api import StreamConfig
from nats.js.errors import APIError

from session_client import AsyncSessionClient
from session_client.subjects import DEFAULT_SUBJECT_TEMPLATE, stream_subject
from session_client.testing import LocalStack, NatsServer

from ..lingering import subscriptions_left
from ..ports import free_port
from .conftest import answer_spread, create_sessions, scale, wait_all

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


@pytest.fixture
def cluster() -> Iterator[list[NatsServer]]:
    """Three JetStream nodes routed to each other on loopback."""
    route_ports = [free_port() for _ in range(3)]
    routes = ",".join(f"nats://127.0.0.1:{port}" for port in route_ports)
    nodes = [
        NatsServer(
            extra_args=[
                *("-n", f"node-{i}", "--cluster_name", "rel"),
                *("--cluster", f"nats://127.0.0.1:{route_ports[i]}", "--routes", routes),
            ]
        )
        for i in range(3)
    ]
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.close()


async def add_r3_stream(url: str, deadline: float) -> None:
    """Create the response stream with 3 replicas once the cluster has elected its leaders."""
    nc = await nats.connect(url)
    try:
        config = StreamConfig(
            name="SESSION_RESPONSES",
            subjects=[stream_subject(DEFAULT_SUBJECT_TEMPLATE) or ""],
            num_replicas=3,
            duplicate_window=120.0,
        )
        while True:
            try:
                await nc.jetstream(timeout=2).add_stream(config)
                return
            except (APIError, TimeoutError, nats.errors.Error):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)
    finally:
        await nc.close()


async def stored_messages(nc: nats.NATS, deadline: float) -> int:
    """How many messages the stream holds, once it has a leader again after the failover."""
    while True:
        try:
            info = await nc.jetstream(timeout=2).stream_info("SESSION_RESPONSES")
            return info.state.messages
        except (APIError, TimeoutError, nats.errors.Error):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


async def test_cluster_failover_of_the_clients_node(
    cluster: list[NatsServer], figures: Callable[..., None]
) -> None:
    count, window = scale(20, 100), 3.0
    victim, _, publisher_node = cluster
    await add_r3_stream(publisher_node.url, time.monotonic() + 30)
    # The server publishes through the third node; the client lists all three, first the one
    # to be killed (dont_randomize), so the node it uses is not the publisher's.
    with LocalStack(nats_url=publisher_node.url, stream=False) as stack:
        stack.human.stay_silent()
        session_ids = [f"failover-{i}" for i in range(count)]

        def subject_of(session_id: str) -> str:
            return f"failover.{int(session_id.rsplit('-', 1)[1]) % 10}"

        async with (
            AsyncSessionClient(
                stack.api_url,
                [node.url for node in cluster],
                nats_options={"dont_randomize": True},
            ) as client,
            AsyncSessionClient(stack.api_url, [publisher_node.url], max_retries=5) as answerer,
        ):
            await create_sessions(client, session_ids, subject_of)
            waits = asyncio.create_task(wait_all(client, session_ids, subject_of, timeout=30))
            answering = asyncio.create_task(answer_spread(stack, count, window, answerer))
            await asyncio.to_thread(stack.human.wait_for_messages, count, 60)
            nc = client.nats_connection
            assert nc is not None
            connected_before = nc.connected_url.port if nc.connected_url else None
            await asyncio.sleep(window * 0.3)
            victim.kill()  # SIGKILL the client's node, mid-wait
            await answering
            tally = await waits
            connected_after = nc.connected_url.port if nc.connected_url else None
            stream_messages = await stored_messages(nc, time.monotonic() + 30)
            reconnects = nc.stats["reconnects"]
            subscriptions = await subscriptions_left(client)
    figures(
        "2. Cluster failover (3 nodes, R3 stream)",
        **tally.figures(),
        reconnects=reconnects,
        stream_messages=stream_messages,
        conditions=f"answers spread over {window:g} s; the client's node SIGKILLed at "
        f"{window * 0.3:g} s; the server publishes through another node",
    )
    assert connected_before == victim.port and connected_after != victim.port
    assert reconnects >= 1
    assert tally.delivered == count, tally.figures()
    assert tally.duplicated == 0 and tally.wrong == 0
    # Never more than once (Nats-Msg-Id); fewer when the server's publish failed while the
    # stream elected a new leader - those answers reached the client through the REST API.
    assert stream_messages <= count
    assert subscriptions == 0
