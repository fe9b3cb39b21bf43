"""Scenario 5: property-based tests over every public method's arguments. Whatever the
arguments, a call raises only documented exceptions (``ValueError``/``TypeError`` before any
I/O, or a :class:`SessionClientError`), and a wait never outlives its timeout."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_client import SessionClient, SessionClientError
from session_client.testing import LocalStack

from .conftest import CountingTransport, report, scale

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

EXAMPLES = scale(25, 300)
# Beyond a wait's own timeout: one REST round trip to the local server, and thread hops.
SLACK = 3.0

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.builds(object),
)
text = st.text(max_size=140)


def mostly(
    valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """``valid`` 3 times in 4, so that calls with every argument valid happen too."""
    return st.integers(0, 3).flatmap(lambda n: valid if n else invalid)


identifier = mostly(st.sampled_from(["prop-1", "prop-2", "msg_x", "chan"]), st.one_of(text, junk))
subject_id = mostly(
    st.sampled_from(["prop.a", "prop.b"]),
    st.one_of(
        st.sampled_from(["a.*", "a.>", ">", "a b", " a", "a\n", "a..b", ""]),
        st.text(alphabet="ab.*> \t\n", max_size=8),
        junk,
    ),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
mapping = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=8), json_value, max_size=3),
    st.dictionaries(st.integers(), st.integers(), min_size=1, max_size=2),
    st.just({"x": {1, 2}}),
    junk,
)
# Invalid timeouts only: a huge valid one (junk's integers) would make a wait last that long.
timeout = mostly(
    st.floats(min_value=0.01, max_value=0.3),
    st.one_of(
        st.none(),
        st.booleans(),
        st.text(max_size=3),
        st.integers(max_value=0),
        st.floats(max_value=0.0),
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.builds(object),
    ),
)
message = mostly(st.text(min_size=1, max_size=30), st.one_of(st.just("x" * 65_537), junk))


# Calls by outcome, over the whole module, for RELIABILITY.md.
OUTCOMES: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def outcomes_report() -> Iterator[None]:
    """Report the module's calls by outcome once all its tests ran."""
    started = time.monotonic()
    yield
    calls = sum(OUTCOMES.values())
    report(
        {
            "scenario": "5. Bad input (hypothesis, every public method)",
            "module": "tests/reliability/test_bad_input.py",
            "expected": calls,
            "delivered": calls - OUTCOMES["violation"],
            "outcomes": dict(OUTCOMES),
            "seconds": round(time.monotonic() - started, 1),
        }
    )


@pytest.fixture(scope="module")
def prop_stack() -> Iterator[LocalStack]:
    """A stack whose human never answers, with one existing session per subject."""
    with LocalStack() as stack:
        stack.human.stay_silent()
        with SessionClient(stack.api_url, [stack.nats_url]) as client:
            client.create_session("prop-1", subject_id="prop.a")
            client.create_session("prop-2", subject_id="prop.b")
        yield stack


def check_call(
    stack: LocalStack, call: Callable[[SessionClient], Any], wait_timeout: object = None
) -> None:
    """Run ``call`` on a fresh client; only documented outcomes, no I/O for bad arguments."""
    transport = CountingTransport()
    client = SessionClient(
        stack.api_url, [stack.nats_url], max_retries=0, http_timeout=5, http_transport=transport
    )
    started = time.monotonic()
    outcome = "violation"  # unless proven otherwise below
    try:
        call(client)
        outcome = "returned"
    except (ValueError, TypeError):
        assert transport.requests == 0, "an invalid argument was sent"
        assert client.async_client.nats_connection is None, "an invalid argument reached NATS"
        outcome = "rejected before I/O"
    except SessionClientError as exc:
        outcome = type(exc).__name__
    finally:
        elapsed = time.monotonic() - started
        client.close()
        limit = SLACK
        if (
            isinstance(wait_timeout, int | float)
            and math.isfinite(wait_timeout)
            and wait_timeout > 0
        ):
            limit += wait_timeout
        if elapsed >= limit:
            outcome = "violation"
        OUTCOMES[outcome] += 1
    assert elapsed < limit, f"the call took {elapsed:.1f} s"


common = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@common
@given(
    api_base_url=st.one_of(st.sampled_from(["http://127.0.0.1:1", "https://x", "ftp://x"]), text),
    nats_servers=st.one_of(
        st.none(), st.lists(st.one_of(text, junk), max_size=2), text, st.integers()
    ),
    api_key=st.one_of(st.none(), text, junk),
    http_timeout=timeout,
    max_retries=st.one_of(st.integers(-2, 5), junk),
    subject_template=st.one_of(
        st.sampled_from(["sessions.responses.{subject_id}", "x.*.{subject_id}", "{subject_id}"]),
        text,
        junk,
    ),
)
def test_constructor_raises_only_value_or_type_errors_and_connects_nothing(
    api_base_url: Any,
    nats_servers: Any,
    api_key: Any,
    http_timeout: Any,
    max_retries: Any,
    subject_template: Any,
) -> None:
    try:
        client = SessionClient(
            api_base_url,
            nats_servers,
            api_key=api_key,
            http_timeout=http_timeout,
            max_retries=max_retries,
            subject_template=subject_template,
        )
    except (ValueError, TypeError):
        return
    assert client.async_client.nats_connection is None
    client.close()


@common
@given(identifier, mapping, mapping, st.one_of(st.none(), st.integers(-5, 2**64), junk), subject_id)
def test_create_session(
    prop_stack: LocalStack, session_id: Any, data: Any, template: Any, expiry: Any, subject: Any
) -> None:
    check_call(prop_stack, lambda c: c.create_session(session_id, data, template, expiry, subject))


@common
@given(identifier)
def test_get_and_reject_session(prop_stack: LocalStack, session_id: Any) -> None:
    check_call(prop_stack, lambda c: c.get_session(session_id))
    if session_id not in ("prop-1", "prop-2"):  # keep the waits' sessions open
        check_call(prop_stack, lambda c: c.reject_session(session_id))


@common
@given(
    st.one_of(st.sampled_from(["ACTIVE", "FAILED", "EXPIRED", "active"]), junk),
    subject_id,
    st.one_of(st.integers(-5, 2000), junk),
    st.one_of(st.text(alphabet="0123456789abcdefg", max_size=20), junk),
)
def test_list_sessions(
    prop_stack: LocalStack, status: Any, subject: Any, limit: Any, cursor: Any
) -> None:
    check_call(prop_stack, lambda c: c.list_sessions(status, subject, limit, cursor))


@common
@given(identifier, identifier, message, st.one_of(st.none(), subject_id))
def test_send_message(
    prop_stack: LocalStack, session_id: Any, channel_id: Any, text_: Any, subject: Any
) -> None:
    check_call(
        prop_stack, lambda c: c.send_message(session_id, channel_id, text_, subject_id=subject)
    )


@common
@given(identifier, identifier, mapping)
def test_get_message_and_submit_response(
    prop_stack: LocalStack, session_id: Any, message_id: Any, response: Any
) -> None:
    check_call(prop_stack, lambda c: c.get_message(session_id, message_id))
    check_call(prop_stack, lambda c: c.submit_response(session_id, message_id, response))


@settings(common, max_examples=max(5, EXAMPLES // 5))
@given(st.just(None))
def test_expire_sessions(prop_stack: LocalStack, _: None) -> None:
    check_call(prop_stack, lambda c: c.expire_sessions())


@common
@given(identifier, identifier, message, subject_id, timeout)
def test_send_and_wait_for_response(
    prop_stack: LocalStack, session_id: Any, channel_id: Any, text_: Any, subject: Any, wait: Any
) -> None:
    check_call(
        prop_stack,
        lambda c: c.send_and_wait_for_response(session_id, channel_id, text_, subject, wait),
        wait,
    )


@common
@given(identifier, subject_id, st.one_of(st.none(), identifier), timeout)
def test_wait_for_response(
    prop_stack: LocalStack, session_id: Any, subject: Any, message_id: Any, wait: Any
) -> None:
    check_call(
        prop_stack, lambda c: c.wait_for_response(session_id, subject, message_id, wait), wait
    )
