"""Scenario 15: a consumer group of 4 worker processes handles a subject's answers while one
worker is SIGKILLed mid-stream and NATS is restarted once: every answer is handled, none is
lost, and duplicates come only from what the killed worker held and from the restart.

The restart's: a stopping nats-server shuts JetStream down before it closes the connections,
so the acknowledgements that reach it in between are dropped (a hand-written nats-py pull
consumer then repeats each member's batch). Members send their latest acknowledgements again
once reconnected, which leaves only a race: at most ``max_in_flight`` per member. Counted on
the wire, an answer is acknowledged twice only by those re-sent acknowledgements (at most
twice ``max_in_flight`` per member) or because it was delivered twice."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from session_client import Answered, AsyncSessionClient
from session_client.testing import LocalStack

from .conftest import scale

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

WORKERS, MAX_IN_FLIGHT, ACK_WAIT = 4, 8, 5
SUBJECT, GROUP = "fleet", "fleet-workers"
T = TypeVar("T")


def start_worker(stack: LocalStack, log: Path) -> subprocess.Popen[bytes]:
    """A worker process of the group, logging what it handles to ``log``."""
    with log.with_suffix(".err").open("wb") as errors:  # the worker writes to its own copy
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.consumer_worker",
                stack.api_url,
                stack.nats_url,
                SUBJECT,
                GROUP,
                str(log),
                f"--max-in-flight={MAX_IN_FLIGHT}",
                f"--ack-wait={ACK_WAIT}",
            ],
            cwd=Path(__file__).resolve().parents[2],
            stderr=errors,
        )


def handled_lines(log: Path) -> list[dict[str, Any]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line) for line in lines if "handled" in line]


def handled(logs: list[Path]) -> list[Counter[str]]:
    """Per worker: how many times it handled each answer."""
    return [Counter(line["handled"] for line in handled_lines(log)) for log in logs]


def first_handled(logs: list[Path]) -> dict[str, tuple[float, int]]:
    """Per answer: when it was first handled, and by which worker."""
    first: dict[str, tuple[float, int]] = {}
    for worker, log in enumerate(logs):
        for line in handled_lines(log):
            key, at = line["handled"], line["at"]
            if key not in first or at < first[key][0]:
                first[key] = (at, worker)
    return first


async def until(condition: Callable[[], bool], within: float) -> bool:
    """Poll ``condition`` until it holds or ``within`` seconds passed."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def send_all(client: AsyncSessionClient, count: int, tag: str = "fleet") -> None:
    """``count`` answered messages on SUBJECT, ids ``{tag}-m{n}``, over 10 sessions."""
    sessions = [f"{tag}-{n}" for n in range(10)]
    for session_id in sessions:
        await client.create_session(session_id, subject_id=SUBJECT)
    slots = asyncio.Semaphore(32)

    async def one(n: int) -> None:
        async with slots:
            await client.send_message(sessions[n % 10], "ops", f"q{n}", message_id=f"{tag}-m{n}")

    await asyncio.gather(*(one(n) for n in range(count)))


async def test_fleet_of_workers_survives_a_sigkill_and_a_nats_restart(
    tmp_path: Path, figures: Callable[..., None]
) -> None:
    count = scale(400, 5000)
    expected = {f"fleet-m{n}" for n in range(count)}
    acks: Counter[str] = Counter()  # acknowledgements on the wire, by stream sequence

    async def observe(msg: Msg) -> None:
        if msg.data in (b"", b"+ACK"):
            acks[msg.subject.split(".")[5]] += 1

    with LocalStack(auto_respond={"ok": True}) as stack:
        nats_server = stack.nats_server
        assert nats_server is not None
        observer = await nats.connect(stack.nats_url, max_reconnect_attempts=-1)
        await observer.subscribe(f"$JS.ACK.SESSION_RESPONSES.{GROUP}.>", cb=observe)
        await observer.flush()
        logs = [tmp_path / f"worker-{n}.jsonl" for n in range(WORKERS)]
        workers = [start_worker(stack, log) for log in logs]
        try:
            async with AsyncSessionClient(stack.api_url, [stack.nats_url], max_retries=5) as sender:
                sending = asyncio.create_task(send_all(sender, count))

                def total() -> int:
                    return sum(sum(c.values()) for c in handled(logs))

                assert await until(lambda: total() >= count * 0.3, 120)
                killed = workers[0]
                killed.send_signal(signal.SIGKILL)
                killed.wait(10)
                held_at_kill = handled(logs)[0]
                assert await until(lambda: total() >= count * 0.6, 120)
                stopped_at = time.time()
                await asyncio.to_thread(nats_server.stop)  # a restart: same port, same store
                await asyncio.to_thread(nats_server.start)
                restarted_at = time.time()
                await sending

                def all_handled() -> bool:
                    seen: set[str] = set()
                    for counter in handled(logs):
                        seen.update(counter)
                    return expected <= seen

                complete = await until(all_handled, 120)
        finally:
            for worker in workers[1:]:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(15)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            await observer.close()
    per_worker = handled(logs)
    together: Counter[str] = Counter()
    for counter in per_worker:
        together.update(counter)
    duplicated = {key for key, times in together.items() if times > 1}
    from_the_kill = {key for key in duplicated if key in held_at_kill}
    # First handled while the server stopped, or before the workers reconnected and flushed
    # what they acknowledged meanwhile (an item is delivered again after ACK_WAIT at the soonest).
    first = first_handled(logs)
    from_the_restart = {
        key
        for key in duplicated - from_the_kill
        if stopped_at <= first[key][0] <= restarted_at + ACK_WAIT
    }
    restart_per_worker = Counter(first[key][1] for key in from_the_restart)
    acked_twice = sum(1 for times in acks.values() if times > 1)
    figures(
        "15. Consumer group: SIGKILL + NATS restart",
        expected=count,
        delivered=len(expected & set(together)),
        duplicated=len(duplicated),
        duplicated_from_kill=len(from_the_kill),
        duplicated_from_restart=len(from_the_restart),
        acked_twice=acked_twice,
        per_worker=[sum(c.values()) for c in per_worker],
        conditions=f"{WORKERS} worker processes, max_in_flight={MAX_IN_FLIGHT}, "
        f"ack_wait={ACK_WAIT} s; SIGKILL of one at 30 % handled, NATS stopped and started at 60 %",
    )
    assert complete, f"lost: {len(expected - set(together))}"
    assert duplicated == from_the_kill | from_the_restart, sorted(
        duplicated - from_the_kill - from_the_restart
    )[:10]
    assert len(from_the_kill) <= MAX_IN_FLIGHT
    assert max(restart_per_worker.values(), default=0) <= MAX_IN_FLIGHT, restart_per_worker
    assert acked_twice <= (WORKERS - 1) * 2 * MAX_IN_FLIGHT + len(duplicated)


async def test_what_members_handled_as_nats_restarted_is_not_handed_out_again() -> None:
    """A stopping nats-server drops the acknowledgements that reach it after JetStream stopped
    (a raw nats-py pull consumer then repeats each member's batch); members send their latest
    acknowledgements again once reconnected, so nothing handled comes again."""
    count, members = 600, 3
    with LocalStack(auto_respond={"ok": True}) as stack:
        nats_server = stack.nats_server
        assert nats_server is not None
        async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as sender:
            await send_all(sender, count)
        seen: Counter[str] = Counter()
        under_way = asyncio.Event()
        clients = [AsyncSessionClient(stack.api_url, [stack.nats_url]) for _ in range(members)]

        async def member(client: AsyncSessionClient) -> None:
            responses = client.responses(
                SUBJECT, group="restart", ack_wait=ACK_WAIT, max_in_flight=MAX_IN_FLIGHT
            )
            async with responses as items:
                async for item in items:
                    assert isinstance(item, Answered)
                    seen[item.key] += 1
                    if len(seen) >= count * 0.4:
                        under_way.set()

        running = [asyncio.create_task(member(client)) for client in clients]
        try:
            async with asyncio.timeout(60):
                await under_way.wait()
            await asyncio.to_thread(nats_server.stop)  # while every member holds a batch
            assert len(seen) < count  # the restart comes while there is work
            await asyncio.to_thread(nats_server.start)
            assert await until(lambda: len(seen) == count, 60), f"lost: {count - len(seen)}"
            # Until the server holds nothing unacknowledged: an acknowledgement it lost keeps
            # its item pending until that is redelivered, after ACK_WAIT, and handled again.
            observer = await nats.connect(stack.nats_url)
            try:
                info = functools.partial(
                    observer.jetstream().consumer_info, "SESSION_RESPONSES", "restart"
                )
                async with asyncio.timeout(30):
                    while (await info()).num_ack_pending:  # noqa: ASYNC110 - the server's, polled
                        await asyncio.sleep(0.1)
            finally:
                await observer.close()
        finally:
            for client in clients:
                await client.aclose()
            await asyncio.gather(*running)
    assert [key for key, times in seen.items() if times > 1] == []


async def test_acknowledgements_are_not_sent_again_to_a_consumer_made_again() -> None:
    """After the stream and the group's consumer were made again (as after a server lost its
    store), the stream sequences a member acknowledged or holds name other messages:
    acknowledging them after its reconnect would take them from the member that holds them."""
    with LocalStack(auto_respond={"ok": True}) as stack:
        nats_server = stack.nats_server
        assert nats_server is not None
        async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as sender:
            await send_all(sender, 8, "old")
        handled_all, release = asyncio.Event(), asyncio.Event()
        client = AsyncSessionClient(stack.api_url, [stack.nats_url])

        async def member() -> None:
            async with client.responses(SUBJECT, group="remade", max_in_flight=8) as items:
                async for n, _ in enumerate_async(items):
                    if n == 7:  # 7 acknowledged, the 8th in hand
                        handled_all.set()
                        await release.wait()
                        break  # the block ends normally: the 8th would be acknowledged

        running = asyncio.create_task(member())
        raw = await nats.connect(stack.nats_url, max_reconnect_attempts=-1)
        decisions: list[str] = []  # what the member did about its acknowledgements
        decided = asyncio.Event()

        class Decisions(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if "again" in record.getMessage():
                    decisions.append(record.getMessage())
                    decided.set()

        handler, waits = Decisions(), logging.getLogger("session_client.waits")
        level = waits.level
        waits.addHandler(handler)
        waits.setLevel(logging.DEBUG)
        try:
            await asyncio.wait_for(handled_all.wait(), 30)
            js = raw.jetstream()
            stream = await js.stream_info("SESSION_RESPONSES")
            consumed = (await js.consumer_info("SESSION_RESPONSES", "remade")).config
            await js.delete_stream("SESSION_RESPONSES")
            await js.add_stream(stream.config)
            await js.add_consumer(
                "SESSION_RESPONSES",
                ConsumerConfig(
                    durable_name="remade",
                    filter_subject=consumed.filter_subject,
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_wait=60,
                ),
            )
            async with AsyncSessionClient(stack.api_url, [stack.nats_url]) as sender:
                await send_all(sender, 20, "new")  # stream sequences 1-20 again
            other = await js.pull_subscribe_bind("remade", "SESSION_RESPONSES")
            held: list[Any] = []
            async with asyncio.timeout(30):
                while len(held) < 20:  # held by another member, not acknowledged
                    with contextlib.suppress(nats.errors.TimeoutError):
                        held += await other.fetch(20 - len(held), timeout=1)
            await asyncio.to_thread(nats_server.stop)
            await asyncio.to_thread(nats_server.start)
            await asyncio.wait_for(decided.wait(), 30)  # the member reconnected and asked
            connection = client.nats_connection
            assert connection is not None
            await connection.flush(timeout=5)  # anything it sent again has reached the server
            info = await js.consumer_info("SESSION_RESPONSES", "remade")
            assert info.num_ack_pending == 20, decisions
            assert "made again" in decisions[0]
            # Nor does it acknowledge or give back what it held (the 8th in hand, as it ends).
            release.set()
            await running
            await connection.flush(timeout=5)
            info = await js.consumer_info("SESSION_RESPONSES", "remade")
            assert info.num_ack_pending == 20
        finally:
            waits.removeHandler(handler)
            waits.setLevel(level)
            release.set()
            await client.aclose()
            await running
            await raw.close()


async def enumerate_async(items: AsyncIterator[T]) -> AsyncIterator[tuple[int, T]]:
    n = 0
    async for item in items:
        yield n, item
        n += 1
