"""Subscribing on the wire: the SUB must reach nats-server before the flush's PING, every
message of a subscription is routed as nats-py reads it, and a caller cancelled while
subscribing must neither be kept waiting nor break the connection."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
import pytest

from session_client.responses import ResponseRouter
from session_client.testing import LocalStack, NatsServer

from ..ports import free_port


async def test_sub_is_written_before_the_ping_that_confirms_it(stack: LocalStack) -> None:
    router = ResponseRouter([stack.nats_url], {})
    try:
        await router.release(await router.register("sessions.responses.warm", "s", None))
        transport = router.connection._transport
        written: list[bytes] = []
        write, writelines = transport.write, transport.writelines

        def record(data: bytes) -> None:
            written.append(bytes(data))
            write(data)

        def record_lines(lines: list[bytes]) -> None:
            written.extend(bytes(line) for line in lines)
            writelines(lines)

        transport.write, transport.writelines = record, record_lines
        waiter = await router.register("sessions.responses.order", "s", None)
        wire = b"".join(written)
        # nats-py writes flush()'s PING straight to the socket: without pushing the pending
        # SUB out first, the PONG can confirm a subscription the server has not seen yet.
        assert wire.index(b"SUB sessions.responses.order ") < wire.index(b"PING")
        await router.release(waiter)
    finally:
        await router.close()


async def test_every_message_of_a_subject_is_routed_without_a_task_or_queue_of_its_own(
    stack: LocalStack,
) -> None:
    # The router passes nats-py a stand-in for subscribe(future=...): nats-py must hand it
    # every message, not only the first, also after a reconnect replayed the subscription.
    reconnected = asyncio.Event()
    router = ResponseRouter(
        [stack.nats_url],
        {"reconnect_time_wait": 0.05},
        lambda: None if router.disconnected else reconnected.set(),
    )
    publisher = await nats.connect(stack.nats_url)
    subject = "sessions.responses.many"

    async def publish_and_collect(message_ids: list[str]) -> list[str]:
        waiters = [await router.register(subject, "s", mid) for mid in message_ids]
        for mid in reversed(message_ids):
            payload = {"session_id": "s", "message_id": mid, "response": {"id": mid}}
            await publisher.publish(subject, json.dumps(payload).encode())
        answers = await asyncio.wait_for(asyncio.gather(*(w.future for w in waiters)), 5)
        for waiter in waiters:
            await router.release(waiter)
        return [answer["response"]["id"] for answer in answers]

    try:
        keep = await router.register(subject, "keep", None)  # holds the subscription open
        tasks_before = len(asyncio.all_tasks())
        assert await publish_and_collect(["a", "b", "c", "d"]) == ["a", "b", "c", "d"]
        subscription = router._entries[subject].subscription
        assert subscription is not None and subscription._wait_for_msgs_task is None
        assert len(asyncio.all_tasks()) == tasks_before
        nc = router.connection
        nc._transport.close()  # a broken connection: nats-py reconnects, replaying the SUB
        await asyncio.wait_for(reconnected.wait(), 5)
        await nc.flush(timeout=5)  # the server has the replayed subscription
        assert await publish_and_collect(["e", "f"]) == ["e", "f"]
        await router.release(keep)
        assert router.subscription_count == 0 and not nc._subs
    finally:
        await publisher.close()
        await router.close()


async def test_a_cancelled_subscribe_is_cancelled_and_the_connection_keeps_delivering(
    stack: LocalStack,
) -> None:
    router = ResponseRouter([stack.nats_url], {})
    publisher = await nats.connect(stack.nats_url)
    try:
        await router.release(await router.register("sessions.responses.warm", "s", None))
        # Cancel after 0, 1, 2, ... loop turns: at some point inside nats-py's subscribe, its
        # pending-buffer flush and the PING/PONG. nats-py swallows a cancellation in the flush,
        # and a cancelled PONG future kills its read loop when the PONG comes.
        for turns in range(40):
            task = asyncio.ensure_future(router.register(f"sessions.responses.c{turns}", "s", None))
            for _ in range(turns):
                await asyncio.sleep(0)
            if task.done():
                await router.release(task.result())
                continue
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert router.subscription_count == 0
        await asyncio.sleep(0.1)  # every PONG of the cancelled subscribes is back
        waiter = await router.register("sessions.responses.after", "s", None)
        payload = {"session_id": "s", "message_id": "m", "response": {"ok": True}}
        await publisher.publish("sessions.responses.after", json.dumps(payload).encode())
        assert (await asyncio.wait_for(waiter.future, 5))["response"] == {"ok": True}
        await router.release(waiter)
    finally:
        await publisher.close()
        await router.close()


async def test_callers_cancelled_while_nats_py_subscribes_leave_no_subscription(
    stack: LocalStack,
) -> None:
    # A one-slot flush queue makes nats-py's subscribe() wait (and swallow a cancellation)
    # as it does under a burst of more than 1,024 new subjects.
    router = ResponseRouter([stack.nats_url], {"flusher_queue_size": 1})
    try:
        await router.release(await router.register("sessions.responses.warm", "s", None))
        nc = router.connection
        before = len(nc._subs)
        tasks = [
            asyncio.ensure_future(router.register(f"sessions.responses.burst{n}", "s", None))
            for n in range(300)
        ]
        await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:  # the few that finished before the cancel
            if not isinstance(result, BaseException):
                await router.release(result)
        assert any(isinstance(result, asyncio.CancelledError) for result in results)
        await asyncio.sleep(0.2)
        assert router.subscription_count == 0
        assert len(nc._subs) == before
    finally:
        await router.close()


# nats-py's websocket transport passes aiohttp a deprecated argument: not ours to fix.
@pytest.mark.filterwarnings("ignore:parameter 'timeout':DeprecationWarning")
async def test_a_websocket_connection_confirms_and_routes(tmp_path: Path) -> None:
    # nats-py's websocket transport sends nothing until drained: the router's PING, written
    # outside nats-py's flusher, must still go out, or every wait fails after 10 s.
    pytest.importorskip("aiohttp")
    ws_port = free_port()
    config = tmp_path / "websocket.conf"
    config.write_text(f"websocket {{\n  host: 127.0.0.1\n  port: {ws_port}\n  no_tls: true\n}}\n")
    with NatsServer(jetstream=False, extra_args=["-c", str(config)]) as server:
        router = ResponseRouter([f"ws://127.0.0.1:{ws_port}"], {})
        publisher = await nats.connect(server.url)
        try:
            for n in range(3):  # each wait its own subscription and confirmation
                subject = f"sessions.responses.ws{n}"
                waiter = await asyncio.wait_for(router.register(subject, "s", f"m{n}"), 5)
                payload = {"session_id": "s", "message_id": f"m{n}", "response": {"n": n}}
                await publisher.publish(subject, json.dumps(payload).encode())
                answer = await asyncio.wait_for(waiter.future, 5)
                assert answer["response"] == {"n": n}
                await router.release(waiter)
        finally:
            await publisher.close()
            await router.close()
