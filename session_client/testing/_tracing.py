"""The reference server's part of a trace (W3C Trace Context: the ``traceparent`` and
``tracestate`` headers that ``openapi.yaml`` and ``asyncapi.yaml`` document).

It continues the trace of every request in a server span, keeps the context of a sent message
with the message, and publishes the message's answer in a producer span of that trace, whose
context goes in the NATS headers: the waiting client links its wait to it. With no tracer (none
passed, no global one configured) it records nothing and hands the context on as it came: the
answer is published with the ``traceparent`` its message was sent with.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._telemetry import tracer_for

__all__ = ["ServerTracing", "TracingMiddleware"]

# What the server hands on without a tracer, after W3C Trace Context's own rules: a traceparent
# that does not parse is ignored, and tracestate only goes with a valid one.
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_TRACESTATE = re.compile(r"[ -~]{1,512}")


class ServerTracing:
    """The server's tracer (``tracer_provider``'s, else the global one's), looked up on use so
    that a provider configured after the server started still counts."""

    def __init__(self, tracer_provider: Any = None) -> None:
        self._tracer_provider = tracer_provider

    def tracer(self) -> Any:
        """The tracer, or None while there is none to record with."""
        return tracer_for(self._tracer_provider)

    @contextlib.contextmanager
    def publishing(
        self, trace_context: dict[str, str] | None, subject: str, response_subject: str
    ) -> Iterator[dict[str, str]]:
        """Around the publishing of an answer on ``subject``: yields the trace headers to send
        with it, of a producer span in the trace of ``trace_context`` (its message's). The span
        is named after the ``response_subject`` of ``subject``: one name per subject, not per
        session, as span names must have few values."""
        tracer = self.tracer()
        if tracer is None:
            yield dict(trace_context or {})
            return
        from opentelemetry import propagate
        from opentelemetry.trace import SpanKind

        attributes = {
            "messaging.system": "nats",
            "messaging.operation.type": "send",
            "messaging.destination.name": subject,
        }
        with tracer.start_as_current_span(
            f"publish {response_subject}",
            context=propagate.extract(trace_context or {}),
            kind=SpanKind.PRODUCER,
            attributes=attributes,
        ):
            headers: dict[str, str] = {}
            propagate.inject(headers)
            yield headers


class TracingMiddleware:
    """Continues each request's trace in a server span, and leaves the context to keep with
    what the request creates in ``scope["trace_context"]``."""

    def __init__(self, app: ASGIApp, tracing: ServerTracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _trace_headers(scope["headers"])
        tracer = self.tracing.tracer()
        if tracer is None:
            scope["trace_context"] = incoming
            await self.app(scope, receive, send)
            return
        from opentelemetry import propagate
        from opentelemetry.trace import SpanKind, StatusCode

        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        method = scope["method"]
        with tracer.start_as_current_span(
            method,
            context=propagate.extract(incoming),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:
            kept: dict[str, str] = {}
            propagate.inject(kept)
            scope["trace_context"] = kept
            await self.app(scope, receive, send_status)
            route = getattr(scope.get("route"), "path", None)
            if route is not None:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status[0])
            if status[0] >= 500:
                span.set_status(StatusCode.ERROR)


def _trace_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request's W3C Trace Context headers, if its ``traceparent`` is well formed: they
    go to NATS as they are when the server records nothing."""
    found = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in headers
        if name in (b"traceparent", b"tracestate")
    }
    if not _TRACEPARENT.fullmatch(found.get("traceparent", "")):
        return {}
    if not _TRACESTATE.fullmatch(found.get("tracestate", "")):
        found.pop("tracestate", None)
    return found
