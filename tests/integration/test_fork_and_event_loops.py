"""A client made before a fork works in the children and in the parent; an async client used
by a second ``asyncio.run`` binds to it, and one used from a second open loop says so."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable

import pytest

from session_client import AsyncSessionClient, SessionClient, WrongEventLoopError
from session_client.testing import LocalStack, SimulatedHuman

from ..children import reap
from .conftest import unique

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("http_backend"),
    # The local stack runs in this process's threads; the children only talk to it.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

APPROVED = {"approved": True}


def exit_code_of_child(work: Callable[[], bool], within: float = 30.0) -> int | str:
    """Run ``work`` in an ``os.fork()`` child: its exit code (0: it returned True), or
    ``"hung"`` if it was still running after ``within`` seconds (then it is killed)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if work() else 2
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    code = reap(pid, time.monotonic() + within)
    return "hung" if code is None else code


def ask(client: SessionClient, name: str) -> dict[str, object]:
    """One session, one message, the simulated human's answer."""
    sid = unique(name)
    client.create_session(sid)
    answer = client.send_and_wait_for_response(sid, "ch", "ok?", f"subj.{name}", timeout=10)
    return dict(answer["response"])


def test_a_client_used_before_a_fork_works_in_the_child_and_still_in_the_parent(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    with SessionClient(stack.api_url, [stack.nats_url]) as client:
        assert ask(client, "before-fork") == APPROVED  # loop thread, HTTP and NATS open

        def in_child() -> bool:
            ok = ask(client, "in-child") == APPROVED and ask(client, "in-child") == APPROVED
            client.close()
            return ok

        assert exit_code_of_child(in_child) == 0
        assert exit_code_of_child(lambda: ask(client, "second-child") == APPROVED) == 0
        assert ask(client, "after-fork") == APPROVED


_pool_client: SessionClient | None = None


def _ask_in_pool_worker(n: int) -> dict[str, object]:
    assert _pool_client is not None
    return ask(_pool_client, f"pool-{n}")


def test_a_multiprocessing_fork_pool_uses_a_client_made_at_import(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    global _pool_client
    with SessionClient(stack.api_url, [stack.nats_url]) as client:
        _pool_client = client
        assert ask(client, "pool-parent") == APPROVED
        with multiprocessing.get_context("fork").Pool(2) as pool:
            answers = pool.map_async(_ask_in_pool_worker, range(6)).get(timeout=60)
        assert answers == [APPROVED] * 6
        assert ask(client, "pool-parent") == APPROVED
    _pool_client = None


async def _ask_async(client: AsyncSessionClient, name: str) -> dict[str, object]:
    sid = unique(name)
    await client.create_session(sid)
    answer = await client.send_and_wait_for_response(sid, "ch", "ok?", f"subj.{name}", timeout=10)
    return dict(answer["response"])


def test_an_async_client_serves_a_second_asyncio_run(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    client = AsyncSessionClient(stack.api_url, [stack.nats_url])
    assert asyncio.run(_ask_async(client, "first-run")) == APPROVED
    started = time.monotonic()
    assert asyncio.run(_ask_async(client, "second-run")) == APPROVED
    assert time.monotonic() - started < 5  # answered, not run to its timeout
    asyncio.run(client.aclose())


def test_an_async_client_used_from_a_second_open_loop_raises_at_once(
    stack: LocalStack,
) -> None:
    client = AsyncSessionClient(stack.api_url, [stack.nats_url])
    sid = unique("two-loops")
    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(client.create_session(sid))
        with pytest.raises(WrongEventLoopError):
            asyncio.run(client.get_session(sid))
        with pytest.raises(WrongEventLoopError):
            asyncio.run(client.aclose())
        assert first.run_until_complete(client.get_session(sid))["session_id"] == sid
        first.run_until_complete(client.aclose())
    finally:
        first.close()
