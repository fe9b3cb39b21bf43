"""OpenTelemetry, end to end: the SDK's in-memory span exporter and metric reader record what
the clients and the reference server of a real local stack do (issue 15)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from session_client import (
    APIConnectionError,
    AsyncSessionClient,
    ClientClosedError,
    ResponseTimeoutError,
    SessionClient,
    SessionRejectedError,
)
from session_client.testing import LocalStack, SimulatedHuman

from ..ports import free_port
from .conftest import unique

pytestmark = pytest.mark.integration

#: One provider for the clients and the reference server: their spans make one trace.
EXPORTER = InMemorySpanExporter()
TRACER_PROVIDER = TracerProvider()
TRACER_PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


@pytest.fixture(scope="module")
def traced_stack() -> Iterator[LocalStack]:
    """A local stack whose reference server records its spans with ``TRACER_PROVIDER``."""
    with LocalStack(tracer_provider=TRACER_PROVIDER) as running:
        yield running


@pytest.fixture
def human(traced_stack: LocalStack) -> Iterator[SimulatedHuman]:
    yield traced_stack.human
    traced_stack.human.answer_with({"approved": True})


@pytest.fixture
def reader() -> InMemoryMetricReader:
    """The metrics of one test's client."""
    return InMemoryMetricReader()


@pytest.fixture
async def client(
    traced_stack: LocalStack, reader: InMemoryMetricReader
) -> Any:  # AsyncIterator[AsyncSessionClient]
    async with AsyncSessionClient(
        traced_stack.api_url,
        [traced_stack.nats_url],
        tracer_provider=TRACER_PROVIDER,
        meter_provider=MeterProvider(metric_readers=[reader]),
    ) as traced:
        yield traced


def spans(name: str, *, within: float = 0.0) -> list[ReadableSpan]:
    """The finished spans called ``name``; waits up to ``within`` s for the first (the server
    ends its spans on its own thread)."""
    deadline = time.monotonic() + within
    while True:
        found = [span for span in EXPORTER.get_finished_spans() if span.name == name]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.02)


def one(name: str, *, within: float = 0.0) -> ReadableSpan:
    found = spans(name, within=within)
    assert len(found) == 1, [span.name for span in EXPORTER.get_finished_spans()]
    return found[0]


def children(parent: ReadableSpan) -> list[ReadableSpan]:
    return [
        span
        for span in EXPORTER.get_finished_spans()
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    ]


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    """The data points of metric ``name``."""
    data = reader.get_metrics_data()
    found = []
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found += list(metric.data.data_points)
    return found


def by_outcome(reader: InMemoryMetricReader) -> dict[str, int]:
    """How many waits ended, by outcome (the wait duration histogram's counts)."""
    return {
        point.attributes["session_client.wait.outcome"]: point.count
        for point in points(reader, "session_client.wait.duration")
    }


def pending(reader: InMemoryMetricReader) -> int:
    return sum(point.value for point in points(reader, "session_client.wait.pending"))


def by_status_class(reader: InMemoryMetricReader) -> dict[str, int]:
    """How many HTTP attempts there were, by status class."""
    return {
        point.attributes["session_client.http.status_class"]: point.value
        for point in points(reader, "session_client.http.attempts")
    }


async def failing_wait(
    client: AsyncSessionClient,
    subject_id: str,
    error: type[Exception],
    outcome: str,
    timeout: float = 10,
) -> ReadableSpan:
    """A send-and-wait in a new session that raises ``error``: its wait span, whose outcome
    must be ``outcome``."""
    sid = unique(subject_id)
    await client.create_session(sid)
    EXPORTER.clear()
    with pytest.raises(error):
        await client.send_and_wait_for_response(sid, "c", "m", subject_id, timeout=timeout)
    wait = one("session_client.wait")
    assert wait.attributes is not None
    assert wait.attributes["session_client.wait.outcome"] == outcome
    assert wait.status.status_code is StatusCode.ERROR
    return wait


async def test_an_answer_is_one_trace_from_the_call_through_the_server_to_the_link(
    client: AsyncSessionClient, reader: InMemoryMetricReader, human: SimulatedHuman
) -> None:
    sid = unique("otel-answered")
    await client.create_session(sid)
    EXPORTER.clear()
    answer = await client.send_and_wait_for_response(
        sid, "c", "m", "otel.answered", timeout=10, message_id=f"{sid}.m"
    )
    assert answer["response"] == {"approved": True}

    call = one("session_client.send_and_wait_for_response")
    assert call.parent is None and call.kind is SpanKind.INTERNAL
    assert call.attributes is not None and call.attributes["session_client.session_id"] == sid
    wait = one("session_client.wait")
    assert wait.parent is not None and wait.parent.span_id == call.context.span_id
    assert wait.kind is SpanKind.CONSUMER
    assert dict(wait.attributes or {}) == {
        "messaging.system": "nats",
        "messaging.operation.type": "receive",
        "messaging.operation.name": "wait",
        "messaging.destination.name": "sessions.responses.otel.answered",
        "messaging.message.id": f"{sid}.m",
        "session_client.session_id": sid,
        "session_client.subject_id": "otel.answered",
        "session_client.wait.outcome": "answered",
        "session_client.wait.settled_by": "nats",
        "session_client.wait.rechecks": 0,
    }
    (post,) = [span for span in children(call) if span.kind is SpanKind.CLIENT]
    assert post.name == "POST" and post.attributes is not None
    assert post.attributes["http.response.status_code"] == 202
    assert post.attributes["url.full"].endswith(f"/sessions/{sid}/messages")
    # The server continued the trace of the attempt, and published the answer in it.
    server = one("POST /sessions/{session_id}/messages", within=5)
    assert server.kind is SpanKind.SERVER
    assert server.parent is not None and server.parent.span_id == post.context.span_id
    publish = one("publish sessions.responses.otel.answered", within=5)
    assert publish.kind is SpanKind.PRODUCER
    assert publish.attributes is not None  # published on the session's own subject
    assert (
        publish.attributes["messaging.destination.name"]
        == f"sessions.responses.otel.answered.{sid}"
    )
    assert publish.parent is not None and publish.parent.span_id == server.context.span_id
    # The wait links the span that published its answer: one trace id all the way.
    (link,) = wait.links
    assert link.context.span_id == publish.context.span_id
    trace_ids = {span.context.trace_id for span in (call, wait, post, server, publish)}
    assert trace_ids == {call.context.trace_id, link.context.trace_id}
    assert len(trace_ids) == 1

    assert by_outcome(reader) == {"answered": 1}
    assert pending(reader) == 0
    assert by_status_class(reader) == {"2xx": 2}  # create_session and the send


async def test_a_timeout_ends_the_wait_span_and_the_call_span_in_error(
    client: AsyncSessionClient, reader: InMemoryMetricReader, human: SimulatedHuman
) -> None:
    human.stay_silent()
    wait = await failing_wait(client, "otel.timeout", ResponseTimeoutError, "timeout", 0.3)
    assert wait.attributes is not None and "session_client.wait.settled_by" not in wait.attributes
    assert wait.links == ()
    call = one("session_client.send_and_wait_for_response")
    assert call.status.status_code is StatusCode.ERROR
    assert [event.attributes["exception.type"] for event in call.events] == [  # type: ignore[index]
        "session_client.errors.ResponseTimeoutError"
    ]
    assert by_outcome(reader) == {"timeout": 1}
    assert pending(reader) == 0


async def test_closing_the_client_ends_a_pending_wait_as_closed(
    traced_stack: LocalStack, human: SimulatedHuman
) -> None:
    human.stay_silent()
    reader = InMemoryMetricReader()
    client = AsyncSessionClient(
        traced_stack.api_url,
        [traced_stack.nats_url],
        tracer_provider=TRACER_PROVIDER,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    sid = unique("otel-closed")
    await client.create_session(sid)
    EXPORTER.clear()
    count = len(human.received)
    waiting = asyncio.create_task(
        client.send_and_wait_for_response(sid, "c", "m", "otel.closed", timeout=10)
    )
    await asyncio.to_thread(human.wait_for_messages, count + 1, 5)
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await waiting
    wait = one("session_client.wait")
    assert wait.attributes is not None
    assert wait.attributes["session_client.wait.outcome"] == "closed"
    call = one("session_client.send_and_wait_for_response")
    assert call.status.status_code is StatusCode.ERROR
    assert by_outcome(reader) == {"closed": 1}
    assert pending(reader) == 0


async def test_a_rejection_is_settled_by_the_rest_api_in_a_span_of_its_own(
    client: AsyncSessionClient, reader: InMemoryMetricReader, human: SimulatedHuman
) -> None:
    human.reject_sessions()
    wait = await failing_wait(client, "otel.rejected", SessionRejectedError, "rejected")
    assert wait.attributes is not None
    assert wait.attributes["session_client.wait.settled_by"] == "rest"
    assert wait.attributes["session_client.wait.rechecks"] == 1
    assert [event.attributes["exception.type"] for event in wait.events] == [  # type: ignore[index]
        "session_client.errors.SessionRejectedError"
    ]
    # The status event was confirmed by the REST API, as background work with its own trace.
    confirm = one("session_client.confirm_status")
    assert confirm.parent is None
    assert confirm.context.trace_id != wait.context.trace_id
    assert {span.name for span in children(confirm)} == {"GET"}
    assert by_outcome(reader) == {"rejected": 1}
    assert pending(reader) == 0
    rechecks = {
        point.attributes["session_client.recheck.reason"]: point.value
        for point in points(reader, "session_client.wait.rechecks")
    }
    assert rechecks == {"status_event": 1}


class NoFeed(httpx.AsyncHTTPTransport):
    """Refuses the settled-messages feed, so that only a stream replay can recover."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/messages/settled":
            raise httpx.ConnectError("refused by the test", request=request)
        return await super().handle_async_request(request)


async def test_an_answer_recovered_after_a_reconnect_is_linked_and_counted() -> None:
    # The answer is published while the client is disconnected (NATS restarted; the client
    # reconnects 1 s after the server does): the reconnect's round replays it from the stream.
    reader = InMemoryMetricReader()
    with LocalStack(tracer_provider=TRACER_PROVIDER) as own:
        own.human.stay_silent()
        async with AsyncSessionClient(
            own.api_url,
            [own.nats_url],
            http_transport=NoFeed(),
            nats_options={"reconnect_time_wait": 1.0},
            tracer_provider=TRACER_PROVIDER,
            meter_provider=MeterProvider(metric_readers=[reader]),
        ) as client:
            sid = unique("otel-recovered")
            await client.create_session(sid)
            EXPORTER.clear()
            waiting = asyncio.create_task(
                client.send_and_wait_for_response(
                    sid, "c", "m", "otel.recovered", timeout=20, message_id=f"{sid}.m"
                )
            )
            await asyncio.to_thread(own.human.wait_for_messages, 1, 5)
            assert own.nats_server is not None
            own.nats_server.kill()
            async with httpx.AsyncClient(base_url=own.api_url) as http:
                path = f"/sessions/{sid}/messages/{sid}.m/response"
                (await http.post(path, json={"response": {"late": True}})).raise_for_status()
            await asyncio.to_thread(own.nats_server.start)
            answer = await asyncio.wait_for(waiting, 15)
    assert answer["response"] == {"late": True}
    wait = one("session_client.wait")
    assert wait.attributes is not None
    assert wait.attributes["session_client.wait.outcome"] == "answered"
    assert wait.attributes["session_client.wait.settled_by"] == "replay"
    # Replayed from the stream with its headers: still linked to the publishing span.
    (link,) = wait.links
    assert link.context.trace_id == wait.context.trace_id
    assert link.context.span_id == one("publish sessions.responses.otel.recovered").context.span_id
    assert any(span.parent is None for span in spans("session_client.recovery_round"))
    assert sum(point.value for point in points(reader, "session_client.nats.reconnects")) >= 1
    assert by_outcome(reader) == {"answered": 1}
    assert pending(reader) == 0


class FailsOnce(httpx.AsyncHTTPTransport):
    """Answers the first request with a 503 asking to retry after 0.2 s."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.failed:
            self.failed = True
            return httpx.Response(503, headers={"Retry-After": "0.2"}, request=request)
        return await super().handle_async_request(request)


async def test_each_http_attempt_has_a_span_and_sends_its_own_traceparent(
    traced_stack: LocalStack,
) -> None:
    reader = InMemoryMetricReader()
    async with AsyncSessionClient(
        traced_stack.api_url,
        [traced_stack.nats_url],
        http_transport=FailsOnce(),
        tracer_provider=TRACER_PROVIDER,
        meter_provider=MeterProvider(metric_readers=[reader]),
    ) as client:
        EXPORTER.clear()
        sid = unique("otel-retried")
        await client.create_session(sid)
    call = one("session_client.create_session")
    first, second = sorted(children(call), key=lambda span: span.start_time or 0)
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["error.type"] == "503"
    assert first.attributes["http.response.header.retry-after"] == ("0.2",)
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.response.status_code"] == 201
    assert second.attributes["http.request.resend_count"] == 1
    assert (second.start_time or 0) - (first.end_time or 0) >= 0.2e9  # Retry-After honoured
    # Only the attempt that reached the server was continued there, as its child.
    server = one("POST /sessions", within=5)
    assert server.parent is not None and server.parent.span_id == second.context.span_id
    assert by_status_class(reader) == {"5xx": 1, "2xx": 1}


async def test_a_failed_attempt_names_what_failed() -> None:
    # The library's exception class (ConnectError, ReadTimeout, ...), not the call path's own.
    async with AsyncSessionClient(
        f"http://127.0.0.1:{free_port()}", max_retries=0, tracer_provider=TRACER_PROVIDER
    ) as client:
        EXPORTER.clear()
        with pytest.raises(APIConnectionError):
            await client.get_session("s1")
    (attempt,) = children(one("session_client.get_session"))
    assert attempt.attributes is not None
    assert attempt.attributes["error.type"] == "ConnectError"


def test_the_blocking_client_runs_its_calls_in_the_callers_trace(
    traced_stack: LocalStack,
) -> None:
    tracer = TRACER_PROVIDER.get_tracer("the application")
    with SessionClient(
        traced_stack.api_url, [traced_stack.nats_url], tracer_provider=TRACER_PROVIDER
    ) as client:
        sid = unique("otel-sync")
        EXPORTER.clear()
        with tracer.start_as_current_span("handle a request") as outer:
            client.create_session(sid)
            answer = client.send_and_wait_for_response(sid, "c", "m", "otel.sync", timeout=10)
    assert answer["response"] == {"approved": True}
    for name in ("session_client.create_session", "session_client.send_and_wait_for_response"):
        span = one(name)
        assert span.parent is not None and span.parent.span_id == outer.get_span_context().span_id
    assert one("session_client.wait").links[0].context.trace_id == outer.get_span_context().trace_id


async def test_the_library_logs_carry_the_ids_and_the_trace_id(
    client: AsyncSessionClient, caplog: pytest.LogCaptureFixture
) -> None:
    sid = unique("otel-logs")
    await client.create_session(sid)
    EXPORTER.clear()
    with caplog.at_level(logging.DEBUG, logger="session_client.waits"):
        await client.send_and_wait_for_response(
            sid, "c", "m", "otel.logs", timeout=10, message_id=f"{sid}.m"
        )
    (record,) = [r for r in caplog.records if getattr(r, "session_id", None) == sid]
    assert record.message_id == f"{sid}.m"  # type: ignore[attr-defined]
    call = one("session_client.send_and_wait_for_response")
    assert record.trace_id == f"{call.context.trace_id:032x}"  # type: ignore[attr-defined]
    assert "answered" in record.getMessage()


async def test_without_opentelemetry_configured_nothing_is_recorded_or_sent(
    traced_stack: LocalStack,
) -> None:
    # This process imported OpenTelemetry (the SDK) but set no global provider: nothing to do.
    seen: list[httpx.Request] = []

    class Seeing(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await super().handle_async_request(request)

    async with AsyncSessionClient(
        traced_stack.api_url, [traced_stack.nats_url], http_transport=Seeing()
    ) as client:
        EXPORTER.clear()
        sid = unique("otel-off")
        await client.create_session(sid)
        await client.send_and_wait_for_response(sid, "c", "m", "otel.off", timeout=10)
    assert seen and not any("traceparent" in request.headers for request in seen)
    assert not [span for span in EXPORTER.get_finished_spans() if span.name.startswith("sess")]


async def test_a_server_that_records_nothing_still_hands_the_context_on(stack: LocalStack) -> None:
    # The module's plain stack has no tracer: its server publishes the answer with the
    # traceparent the message came with, so the wait links the attempt that sent it.
    async with AsyncSessionClient(
        stack.api_url, [stack.nats_url], tracer_provider=TRACER_PROVIDER
    ) as client:
        sid = unique("otel-handed-on")
        await client.create_session(sid)
        EXPORTER.clear()
        await client.send_and_wait_for_response(sid, "c", "m", "otel.handed.on", timeout=10)
    call = one("session_client.send_and_wait_for_response")
    (post,) = [span for span in children(call) if span.kind is SpanKind.CLIENT]
    (link,) = one("session_client.wait").links
    assert link.context.span_id == post.context.span_id
    assert not spans("POST /sessions/{session_id}/messages")
