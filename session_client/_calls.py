"""The calls of one :class:`AsyncSessionClient`: which event loop (and process) its connections
belong to, and ending the calls in flight when it is closed."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from . import _fork
from ._telemetry import Telemetry
from .errors import ClientClosedError, WrongEventLoopError

__all__ = ["CallTracker", "tracked"]

P = ParamSpec("P")
R = TypeVar("R")

#: How long :meth:`CallTracker.close` waits for the cancelled calls to end (they end at their
#: next await; this only bounds a call stuck in code that ignores cancellation).
_END_CALLS_WITHIN = 2.0


class CallTracker:
    """Binds a client to the event loop of its first call and ends its calls at close.

    ``rebind(forked)`` is called to replace the client's connections when a call comes from a
    new loop after the bound one was closed (``forked=False``), or from a forked child
    (``forked=True``: the old connections are the parent's and must be left alone).
    """

    def __init__(self, rebind: Callable[[bool], None]) -> None:
        self._rebind = rebind
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._generation = _fork.generation
        self._calls: set[asyncio.Task[Any]] = set()
        self._cancelled: set[asyncio.Task[Any]] = set()

    def bind(self) -> None:
        """Check (and on a change of loop or process, make) the binding to the running loop."""
        loop = asyncio.get_running_loop()
        if loop is self._loop and self._generation == _fork.generation:
            return
        forked = self._generation != _fork.generation
        if self._loop is not None:
            if not forked and not self._loop.is_closed():
                raise WrongEventLoopError(
                    "this AsyncSessionClient's connections belong to another event loop, which "
                    "is still open: use the client from that loop, or one client per loop"
                )
            self._rebind(forked)
        self._loop, self._generation = loop, _fork.generation

    def enter(self) -> asyncio.Task[Any]:
        """Start a call in the current task; raise if the client is closed or misused."""
        if self.closed:
            raise ClientClosedError()
        self.bind()
        task = asyncio.current_task()
        assert task is not None  # a coroutine method runs in a task
        self._calls.add(task)
        return task

    def closed_by_us(self, task: asyncio.Task[Any]) -> bool:
        """After a ``CancelledError`` in ``task``'s call: was it :meth:`close`'s alone?"""
        if task not in self._cancelled:
            return False
        self._cancelled.discard(task)
        return task.uncancel() == 0

    def leave(self, task: asyncio.Task[Any]) -> None:
        self._calls.discard(task)
        if task in self._cancelled:  # the call ended before close's cancel reached it
            self._cancelled.discard(task)
            task.uncancel()

    async def close(self) -> None:
        """Refuse new calls; cancel those in flight (they raise :class:`ClientClosedError`)
        and wait until they have ended, so nothing uses the connections being closed."""
        self.closed = True
        current = asyncio.current_task()
        others = self._calls - {current}
        for task in others:
            task.cancel()
            self._cancelled.add(task)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_END_CALLS_WITHIN):
                spins = 0
                while self._calls - {current}:
                    await asyncio.sleep(0 if spins < 20 else 0.005)
                    spins += 1


class _Tracked(Protocol):
    _calls: CallTracker
    _telemetry: Telemetry


C = TypeVar("C", bound=_Tracked)


def tracked(
    method: Callable[Concatenate[C, P], Awaitable[R]],
) -> Callable[Concatenate[C, P], Coroutine[Any, Any, R]]:
    """Decorate a public coroutine method: it runs as one call of ``self._calls``, in a span
    named after it (when OpenTelemetry is on)."""
    name = f"session_client.{method.__name__}"
    ids = _id_positions(method)

    @functools.wraps(method)
    async def call(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._telemetry.call(name, ids, args, kwargs):
            calls = self._calls
            task = calls.enter()
            try:
                return await method(self, *args, **kwargs)
            except asyncio.CancelledError:
                if calls.closed_by_us(task):
                    raise ClientClosedError("the client was closed while this call ran") from None
                raise
            finally:
                calls.leave(task)

    return call


def _id_positions(method: Callable[..., Any]) -> dict[str, int]:
    """Where ``method`` takes ``session_id`` / ``message_id`` among its arguments after
    ``self`` (keyword-only ones: past any position)."""
    parameters = list(inspect.signature(method).parameters.values())[1:]
    return {
        parameter.name: sys.maxsize if parameter.kind is parameter.KEYWORD_ONLY else index
        for index, parameter in enumerate(parameters)
        if parameter.name in ("session_id", "message_id")
    }
