"""The library's OpenTelemetry instrumentation, behind one cheap switch.

The rest of the library calls the hooks here; only :mod:`._otel` imports OpenTelemetry. The
library never imports it on its own (the API costs more to import than ``session_client`` may
spend, see BENCHMARKS.md): an application must import OpenTelemetry to configure it, so while
``opentelemetry`` is not in ``sys.modules`` and no provider was passed to the client, every hook
returns after one dict lookup, allocating nothing. Otherwise :mod:`._otel` records, with the
providers passed to the client or else the global ones. A global provider cannot change once
set, but may be set after the client was made: while one is missing, the globals are looked up
again at most every ``_LOOK_AGAIN`` seconds (looking each time would cost microseconds per
hook: OpenTelemetry reads the environment on every lookup).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import (
    ClientClosedError,
    SessionExpiredError,
    SessionRejectedError,
)

if TYPE_CHECKING:
    from .._wait._routing import Wait
    from ._otel import ConsumeRecord, Instruments, WaitRecord

__all__ = [
    "NO_SPAN",
    "ConsumeRecord",
    "Telemetry",
    "TraceIds",
    "carry_context",
    "context_for_task",
    "outcome",
    "tracer_for",
]

logger = logging.getLogger("session_client.waits")

_LOOK_AGAIN = 1.0

#: What every span hook returns while OpenTelemetry is off (stateless, so shared).
NO_SPAN: contextlib.AbstractContextManager[None] = contextlib.nullcontext()

_OUTCOMES: dict[type[BaseException], str] = {
    SessionRejectedError: "rejected",
    SessionExpiredError: "expired",
    ClientClosedError: "closed",
}


def _in_use() -> bool:
    """Whether the application imported OpenTelemetry (it must, to configure it)."""
    return "opentelemetry" in sys.modules


def outcome(future: asyncio.Future[Any], unsettled: str) -> str:
    """How a wait ended: ``answered``, ``rejected``, ``expired``, ``closed``, ``error`` (NATS
    unavailable), or ``unsettled`` (``timeout``, ``closed``, ``cancelled``) if nothing settled
    its future."""
    if not future.done() or future.cancelled():
        return unsettled
    error = future.exception()
    return "answered" if error is None else _OUTCOMES.get(type(error), "error")


class Telemetry:
    """The instrumentation of one client: its providers, the instruments made from them, and
    the spans of its pending waits."""

    __slots__ = ("_instruments", "_look_again", "_waits", "meter_provider", "tracer_provider")

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self._instruments: Instruments | None = None
        #: When to look the providers up again (never once both are known).
        self._look_again = 0.0
        self._waits: dict[Wait, WaitRecord] = {}

    def on(self) -> Instruments | None:
        """The instruments, or None while no OpenTelemetry is configured."""
        if self.tracer_provider is None and self.meter_provider is None and not _in_use():
            return None
        now = time.monotonic()
        if now < self._look_again:
            return self._instruments
        from ._otel import instruments

        self._instruments, complete = instruments(
            self._instruments, self.tracer_provider, self.meter_provider
        )
        self._look_again = math.inf if complete else now + _LOOK_AGAIN
        return self._instruments

    # -- calls ------------------------------------------------------------------------------

    def call(
        self, name: str, ids: Mapping[str, int], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> contextlib.AbstractContextManager[Any]:
        """The span of one public call (current while it runs); ``ids`` says where the
        ``session_id`` / ``message_id`` arguments are, to put them on it."""
        instruments = self.on()
        if instruments is None:
            return NO_SPAN
        return instruments.call_span(name, ids, args, kwargs)

    def background(
        self, name: str, attributes: dict[str, str]
    ) -> contextlib.AbstractContextManager[Any]:
        """The root span of work done for every wait of a subject (a recovery round, the
        confirmation of a status event), current while it runs."""
        instruments = self.on()
        if instruments is None:
            return NO_SPAN
        return instruments.root_span(name, attributes)

    # -- waits ------------------------------------------------------------------------------

    @staticmethod
    def now() -> int:
        """The time a wait's span starts at, taken before its registration."""
        return time.time_ns()

    def wait_started(self, wait: Wait, started_ns: int, rechecks: int) -> None:
        """``wait`` is registered (registration began at ``started_ns``); its subject had had
        ``rechecks`` REST re-checks so far."""
        instruments = self.on()
        if instruments is not None:
            self._waits[wait] = instruments.wait_started(wait, started_ns, rechecks)

    def wait_ended(self, wait: Wait, unsettled: str, rechecks: int) -> None:
        """``wait`` is released; ``unsettled`` is how it ended if nothing settled it."""
        record = self._waits.pop(wait, None)
        if record is None and not logger.isEnabledFor(logging.DEBUG):
            return
        ended = outcome(wait.future, unsettled)
        logger.debug(
            "the wait for %s of session %s ended: %s",
            wait.message_id or "any message",
            wait.session_id,
            ended,
            extra={"session_id": wait.session_id, "message_id": wait.message_id},
        )
        if record is not None:
            record.end(wait, ended, rechecks)

    # -- durable consumers ------------------------------------------------------------------

    def consumed(
        self,
        subject: str,
        group: str,
        key: str,
        deliveries: int,
        lag: float,
        headers: Mapping[str, str] | None,
    ) -> ConsumeRecord | None:
        """An item of ``group`` (its idempotency ``key``, handed out for the ``deliveries``-th
        time, ``lag`` seconds after the stream stored it) goes to the handler; the record's
        ``end`` says when it was acknowledged or left. None while OpenTelemetry is off."""
        instruments = self.on()
        if instruments is None:
            return None
        return instruments.consumed(subject, group, key, deliveries, lag, headers)

    def rechecked(self, reason: str) -> None:
        """The REST API was asked for a subject's settled messages, for ``reason``."""
        instruments = self.on()
        if instruments is not None:
            instruments.rechecks.add(1, {"session_client.recheck.reason": reason})

    def reconnected(self) -> None:
        """The NATS connection came back."""
        instruments = self.on()
        if instruments is not None:
            instruments.reconnects.add(1)


def carry_context() -> object | None:
    """The calling thread's OpenTelemetry context, for a call that runs on another thread
    (None: there is nothing to carry)."""
    if not _in_use():
        return None
    from opentelemetry import context

    current = context.get_current()
    return current or None  # an empty Context holds no span


def context_for_task(carried: object) -> contextvars.Context:
    """A copy of the current context with ``carried`` (from :func:`carry_context`) attached:
    the context to run a task in."""
    from opentelemetry import context

    task_context = contextvars.copy_context()
    task_context.run(context.attach, carried)  # type: ignore[arg-type]
    return task_context


def tracer_for(tracer_provider: Any) -> Any:
    """A tracer of ``tracer_provider`` or of the configured global one; None if neither (for the
    reference server, which uses no client)."""
    if tracer_provider is None and not _in_use():
        return None
    from ._otel import configured_tracer_provider

    provider = configured_tracer_provider(tracer_provider)
    return None if provider is None else provider.get_tracer("session_client.testing")


class TraceIds(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` (hex, or None outside a span) to the library's log
    records, for formats such as ``%(trace_id)s`` and for log exporters."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate ``record``; never drops it."""
        trace_id = span_id = None
        if _in_use():
            from opentelemetry import trace

            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
        record.__dict__.update(trace_id=trace_id, span_id=span_id)
        return True


# A logger's filters see only its own records, not its children's: each logger of the library.
for _name in (
    "session_client",
    "session_client.nats",
    "session_client.retries",
    "session_client.waits",
):
    logging.getLogger(_name).addFilter(TraceIds())
