"""The sync client's private loop thread: results, errors, and Ctrl-C while blocked."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator

import pytest

from session_client.sync_client import _Call, _LoopThread


async def nothing() -> None:
    pass


async def answer() -> int:
    return 42


@pytest.fixture
def loop_thread() -> Iterator[_LoopThread]:
    runner = _LoopThread()
    yield runner
    runner.close(nothing())


def test_results_and_errors_come_back_to_the_caller(loop_thread: _LoopThread) -> None:
    async def double(n: int) -> int:
        await asyncio.sleep(0)
        return 2 * n

    async def fail() -> None:
        raise ValueError("from the loop thread")

    assert [loop_thread.run(double(n)) for n in range(3)] == [0, 2, 4]
    with pytest.raises(ValueError, match="from the loop thread"):
        loop_thread.run(fail())


def test_many_threads_at_once_each_get_their_own_result(loop_thread: _LoopThread) -> None:
    # Calls from many threads share loop wake-ups; none may be left behind by a wake-up that
    # was already draining when it was submitted (it would block for ever).
    async def echo(n: int) -> int:
        await asyncio.sleep(0)
        return n

    results: dict[int, list[int]] = {}

    def calls(n: int) -> None:
        results[n] = [loop_thread.run(echo(n * 1000 + k)) for k in range(200)]

    threads = [threading.Thread(target=calls, args=(n,), daemon=True) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a call was never started"
    assert results == {n: [n * 1000 + k for k in range(200)] for n in range(50)}


def test_ctrl_c_while_blocked_cancels_the_work(loop_thread: _LoopThread) -> None:
    cancelled = threading.Event()

    async def long_wait() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        loop_thread.run(long_wait())
    assert cancelled.wait(5)


def test_a_call_cancelled_before_it_started_never_runs() -> None:
    ran = False

    async def work() -> None:
        nonlocal ran
        ran = True

    async def main() -> None:
        call = _Call(work())
        call.cancel()  # Ctrl-C came before the loop got to start it
        call.start()
        await asyncio.sleep(0)

    asyncio.run(main())
    assert not ran


def test_ctrl_c_between_flag_and_wake_up_does_not_wedge_the_client(
    loop_thread: _LoopThread,
) -> None:
    assert loop_thread.run(answer()) == 42
    loop_thread._wake_pending = True  # as if a caller was interrupted before it woke the loop
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        loop_thread.run(asyncio.sleep(30))
    later: list[int] = []
    caller = threading.Thread(target=lambda: later.append(loop_thread.run(answer())), daemon=True)
    caller.start()
    caller.join(5)
    assert later == [42]


def test_a_fork_holds_the_loop_thread_between_two_steps_until_the_parent_resumes(
    loop_thread: _LoopThread,
) -> None:
    assert loop_thread.run(answer()) == 42
    loop = loop_thread._loop
    assert loop is not None
    ran = threading.Event()
    loop_thread.before_fork()
    loop.call_soon_threadsafe(ran.set)
    assert not ran.wait(0.3)  # held: a fork here copies no half-done step
    loop_thread.after_fork_in_parent()
    assert ran.wait(5)
    assert loop_thread.run(answer()) == 42
