"""The pure parts of the telemetry: outcomes of waits, and what the reference server hands on
when it records nothing."""

from __future__ import annotations

import asyncio

from session_client._telemetry import Telemetry, outcome
from session_client.errors import (
    ClientClosedError,
    NatsUnavailableError,
    SessionExpiredError,
    SessionRejectedError,
)
from session_client.testing._tracing import _trace_headers

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_a_wait_ends_as_its_future_says_or_as_the_caller_says_if_unsettled() -> None:
    loop = asyncio.get_running_loop()
    cases: list[tuple[BaseException | None, str]] = [
        (None, "answered"),
        (SessionRejectedError("s", "m"), "rejected"),
        (SessionExpiredError("s", "m"), "expired"),
        (ClientClosedError(), "closed"),
        (NatsUnavailableError("down"), "error"),
    ]
    for error, expected in cases:
        future: asyncio.Future[dict[str, str]] = loop.create_future()
        if error is None:
            future.set_result({})
        else:
            future.set_exception(error)
        assert outcome(future, "timeout") == expected
    assert outcome(loop.create_future(), "timeout") == "timeout"
    cancelled: asyncio.Future[None] = loop.create_future()
    cancelled.cancel()
    assert outcome(cancelled, "cancelled") == "cancelled"


def test_without_a_provider_or_a_global_one_telemetry_is_off() -> None:
    # The test process imported OpenTelemetry but set no global provider.
    assert Telemetry().on() is None


def test_the_server_hands_on_only_well_formed_trace_context() -> None:
    def headers(**values: str) -> list[tuple[bytes, bytes]]:
        return [(name.encode(), value.encode()) for name, value in values.items()]

    assert _trace_headers(headers(traceparent=PARENT, tracestate="a=1")) == {
        "traceparent": PARENT,
        "tracestate": "a=1",
    }
    assert _trace_headers(headers(traceparent="00-xyz", tracestate="a=1")) == {}
    assert _trace_headers(headers(tracestate="a=1")) == {}
    assert _trace_headers(headers(traceparent=PARENT, tracestate="x" * 513)) == {
        "traceparent": PARENT
    }
