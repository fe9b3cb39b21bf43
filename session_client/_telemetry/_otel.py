"""The spans and metrics, with the OpenTelemetry API: imported once the application uses
OpenTelemetry (see the package docstring for when).

Names follow OpenTelemetry's conventions: the stable HTTP client ones for each attempt; the
messaging ones (still in development; ``nats`` is not a registered ``messaging.system`` yet, so
it is a custom value) for the waits; ``session_client.*`` for the rest.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .._version import __version__
from ..config import redact_url

if TYPE_CHECKING:
    from .._wait._routing import Wait

__all__ = [
    "ConsumeRecord",
    "Instruments",
    "WaitRecord",
    "configured_tracer_provider",
    "instruments",
]

SCOPE = "session_client"
# The wait histogram spans what a wait may take: an instant answer to a day's wait for a human.
_WAIT_BUCKETS = (
    *(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
    *(3600, 4 * 3600, 24 * 3600),
)
_DEFAULT_PORTS = {"http": 80, "https": 443}

try:  # what get_meter_provider() returns while no provider is set
    from opentelemetry.metrics._internal import _ProxyMeterProvider as _UnsetMeterProvider
except ImportError:  # pragma: no cover - a later API that moved it: treat every global as set
    _UnsetMeterProvider = type(None)  # type: ignore[assignment,misc]


def configured_tracer_provider(explicit: Any) -> trace.TracerProvider | None:
    """``explicit``, else the global tracer provider if the application set one."""
    if explicit is not None:
        return explicit  # type: ignore[no-any-return]
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return provider


def _configured_meter_provider(explicit: Any) -> metrics.MeterProvider | None:
    if explicit is not None:
        return explicit  # type: ignore[no-any-return]
    provider = metrics.get_meter_provider()
    if isinstance(provider, _UnsetMeterProvider | metrics.NoOpMeterProvider):
        return None
    return provider


def instruments(
    cached: Instruments | None, tracer_provider: Any, meter_provider: Any
) -> tuple[Instruments | None, bool]:
    """The instruments for the providers in force (``cached`` if they did not change), and
    whether both providers are known (a global one, once set, never changes)."""
    tracers = configured_tracer_provider(tracer_provider)
    meters = _configured_meter_provider(meter_provider)
    complete = tracers is not None and meters is not None
    if tracers is None and meters is None:
        return None, complete
    if cached is not None and cached.tracer_provider is tracers and cached.meter_provider is meters:
        return cached, complete
    return Instruments(tracers, meters), complete


class Instruments:
    """A tracer and the metric instruments, from one pair of providers (a missing one is
    replaced by the API's no-op provider)."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: metrics.MeterProvider | None,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.tracer = (tracer_provider or trace.NoOpTracerProvider()).get_tracer(SCOPE, __version__)
        meter = (meter_provider or metrics.NoOpMeterProvider()).get_meter(SCOPE, __version__)
        self.wait_duration = meter.create_histogram(
            "session_client.wait.duration",
            unit="s",
            description="From registering a wait for an answer to its outcome.",
            explicit_bucket_boundaries_advisory=_WAIT_BUCKETS,
        )
        self.pending = meter.create_up_down_counter(
            "session_client.wait.pending", unit="{wait}", description="Waits for an answer."
        )
        self.rechecks = meter.create_counter(
            "session_client.wait.rechecks",
            unit="{request}",
            description="Times the REST API was asked for a subject's settled messages.",
        )
        self.reconnects = meter.create_counter(
            "session_client.nats.reconnects",
            unit="{reconnect}",
            description="Times the NATS connection came back after it was lost.",
        )
        self.attempts = meter.create_counter(
            "session_client.http.attempts",
            unit="{attempt}",
            description="HTTP request attempts, retries included, by status class.",
        )
        self.consume_lag = meter.create_histogram(
            "session_client.consume.lag",
            unit="s",
            description="From the stream storing an answer or session end to its hand-out.",
            explicit_bucket_boundaries_advisory=_WAIT_BUCKETS,
        )
        self.redeliveries = meter.create_counter(
            "session_client.consume.redeliveries",
            unit="{item}",
            description="Items handed out again: a member before did not acknowledge them.",
        )
        self.ack_latency = meter.create_histogram(
            "session_client.consume.ack_latency",
            unit="s",
            description="From an item's delivery to this member to its acknowledgement.",
            explicit_bucket_boundaries_advisory=_WAIT_BUCKETS,
        )

    def call_span(
        self, name: str, ids: Mapping[str, int], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> contextlib.AbstractContextManager[trace.Span]:
        """The span of a public call, with its session and message ids where it has them."""
        attributes: dict[str, str] = {}
        for key, position in ids.items():
            value = args[position] if position < len(args) else kwargs.get(key)
            if isinstance(value, str):
                attributes[f"session_client.{key}"] = value
        return self.tracer.start_as_current_span(name, attributes=attributes)

    def root_span(
        self, name: str, attributes: dict[str, str]
    ) -> contextlib.AbstractContextManager[trace.Span]:
        """A span with no parent: background work, whatever context it was started from."""
        return self.tracer.start_as_current_span(
            name, context=otel_context.Context(), attributes=attributes
        )

    async def attempt(
        self,
        send: Callable[[dict[str, str]], Awaitable[Any]],
        method: str,
        url: str,
        resend_count: int,
        headers: dict[str, str],
    ) -> Any:
        """One HTTP attempt, ``send(headers)``: a client span, whose context goes in the
        request's ``traceparent`` (each retry sends its own)."""
        parts = urlsplit(url)
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "server.address": parts.hostname,
            "server.port": parts.port or _DEFAULT_PORTS.get(parts.scheme, 0),
            "url.full": redact_url(url),
        }
        if resend_count:
            attributes["http.request.resend_count"] = resend_count
        with self.tracer.start_as_current_span(
            method,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            propagate.inject(headers)
            try:
                response = await send(headers)
            except Exception as exc:
                error = getattr(exc, "kind", None) or type(exc).__qualname__
                span.set_attribute("error.type", error)
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{error}: {exc}"))
                self._attempted(method, "error", error)
                raise
            status = response.status
            span.set_attribute("http.response.status_code", status)
            retry_after = response.header("retry-after")
            if retry_after is not None:
                span.set_attribute("http.response.header.retry-after", (retry_after,))
            if status >= 400:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
            self._attempted(method, f"{status // 100}xx", str(status) if status >= 400 else None)
            return response

    def _attempted(self, method: str, status_class: str, error: str | None) -> None:
        attributes = {
            "http.request.method": method,
            "session_client.http.status_class": status_class,
        }
        if error is not None:
            attributes["error.type"] = error
        self.attempts.add(1, attributes)

    def wait_started(self, wait: Wait, started_ns: int, rechecks: int) -> WaitRecord:
        """The span of a wait, from ``started_ns`` to its :meth:`WaitRecord.end`."""
        attributes = {
            "messaging.system": "nats",
            "messaging.operation.type": "receive",
            "messaging.operation.name": "wait",
            "messaging.destination.name": wait.subject,
            "session_client.session_id": wait.session_id,
            "session_client.subject_id": wait.subject_id,
        }
        if wait.message_id is not None:
            attributes["messaging.message.id"] = wait.message_id
        span = self.tracer.start_span(
            "session_client.wait",
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            start_time=started_ns,
        )
        self.pending.add(1)
        return WaitRecord(self, span, started_ns, rechecks)

    def consumed(
        self,
        subject: str,
        group: str,
        key: str,
        deliveries: int,
        lag: float,
        headers: Mapping[str, str] | None,
    ) -> ConsumeRecord:
        """The span of one consumed item, from its hand-out to :meth:`ConsumeRecord.end`."""
        attributes: dict[str, Any] = {
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.operation.name": "consume",
            "messaging.destination.name": subject,
            "messaging.consumer.group.name": group,
            "messaging.message.id": key,
            "session_client.consume.deliveries": deliveries,
        }
        span = self.tracer.start_span(
            "session_client.consume", kind=SpanKind.CONSUMER, attributes=attributes
        )
        if headers and span.is_recording():
            _link_answer(span, headers)
        metric = {"messaging.consumer.group.name": group}
        self.consume_lag.record(max(lag, 0.0), metric)
        if deliveries > 1:
            self.redeliveries.add(1, metric)
        return ConsumeRecord(self, span, group)


class ConsumeRecord:
    """One consumed item's span, until it is acknowledged or left."""

    __slots__ = ("_group", "_instruments", "_span")

    def __init__(self, instruments: Instruments, span: trace.Span, group: str) -> None:
        self._instruments = instruments
        self._span = span
        self._group = group

    def end(self, *, acked: bool, held: float) -> None:
        """End the span: the item was acknowledged ``held`` seconds after its delivery, or
        left to be redelivered."""
        span = self._span
        span.set_attribute("session_client.consume.outcome", "acked" if acked else "unacked")
        if acked:
            self._instruments.ack_latency.record(
                held, {"messaging.consumer.group.name": self._group}
            )
        else:
            span.set_status(Status(StatusCode.ERROR, "unacked"))
        span.end()


class WaitRecord:
    """One pending wait's span and what its metrics need at the end."""

    __slots__ = ("_instruments", "_rechecks", "_span", "_started_ns")

    def __init__(
        self, instruments: Instruments, span: trace.Span, started_ns: int, rechecks: int
    ) -> None:
        self._instruments = instruments
        self._span = span
        self._started_ns = started_ns
        self._rechecks = rechecks

    def end(self, wait: Wait, outcome: str, rechecks: int) -> None:
        """End the span with ``outcome``; record the duration; link the answer's context."""
        span = self._span
        settled_by = None
        if outcome == "answered" and wait.answer is not None:
            settled_by = wait.answer.via
        elif outcome in ("rejected", "expired"):
            settled_by = "rest"  # a session's end is always confirmed by the REST API
        if span.is_recording():
            span.set_attribute("session_client.wait.outcome", outcome)
            span.set_attribute("session_client.wait.rechecks", rechecks - self._rechecks)
            if settled_by is not None:
                span.set_attribute("session_client.wait.settled_by", settled_by)
            if wait.answer is not None and wait.answer.headers:
                _link_answer(span, wait.answer.headers)
            if outcome != "answered":
                error = (
                    None
                    if wait.future.cancelled() or not wait.future.done()
                    else (wait.future.exception())
                )
                if error is not None:
                    span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, outcome))
        ended = time.time_ns()
        span.end(end_time=ended)
        attributes = {"session_client.wait.outcome": outcome}
        if settled_by is not None:
            attributes["session_client.wait.settled_by"] = settled_by
        instruments = self._instruments
        instruments.wait_duration.record((ended - self._started_ns) / 1e9, attributes)
        instruments.pending.add(-1)


def _link_answer(span: trace.Span, headers: Mapping[str, str]) -> None:
    """Link ``span`` to the span that published the answer (its ``traceparent`` header)."""
    published = trace.get_current_span(propagate.extract(headers)).get_span_context()
    if published.is_valid:
        span.add_link(published, {"session_client.link": "answer"})
