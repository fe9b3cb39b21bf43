"""The client's payload checks (``session_client._wait._payloads``) accept exactly what the
schemas of ``asyncapi.yaml`` accept, checked against jsonschema on generated payloads."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from session_client._wait._payloads import Answer, StatusEvent, parse_payload
from session_client.testing.contracts import load_contract

from .. import payloads

SCHEMAS = load_contract("asyncapi.yaml")["components"]["schemas"]
ANSWER = Draft202012Validator(SCHEMAS["ResponsePayload"], format_checker=FormatChecker())
STATUS = Draft202012Validator(SCHEMAS["SessionStatusPayload"], format_checker=FormatChecker())

MEMBERS = sorted(
    {*SCHEMAS["ResponsePayload"]["properties"], *SCHEMAS["SessionStatusPayload"]["properties"]}
)
VALUES = st.sampled_from(
    [
        "s1",
        "m1",
        "session.status",
        "FAILED",
        "EXPIRED",
        "ACTIVE",
        "2026-11-30T10:00:00Z",
        "2026-11-30T10:00:00.123+01:00",
        "2026-11-30T10:00:00",
        "2026-13-30T10:00:00Z",
        "",
        7,
        None,
        True,
        [],
        {},
        {"approved": True},
    ]
)
VALID = [payloads.answer(), payloads.status()]
# A valid payload of either kind, then up to three edits: a member dropped, added or changed.
EDITS = st.lists(
    st.tuples(
        st.sampled_from([*MEMBERS, "extra"]), st.one_of(st.none(), VALUES.map(lambda v: [v]))
    ),
    max_size=3,
)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload = dict(draw(st.sampled_from(VALID)))
    for member, value in draw(EDITS):
        if value is None:
            payload.pop(member, None)
        else:
            payload[member] = value[0]
    return payload


PAYLOADS = payloads()


@settings(max_examples=3000, deadline=None)
@given(PAYLOADS)
def test_a_payload_is_accepted_exactly_when_its_schema_accepts_it(payload: dict[str, Any]) -> None:
    event(f"valid: {parse_payload(json.dumps(payload).encode()) is not None}")
    parsed = parse_payload(json.dumps(payload).encode())
    schema = STATUS if "event" in payload else ANSWER
    assert (parsed is not None) == schema.is_valid(payload), (payload, parsed)
    if parsed is not None:
        assert isinstance(parsed, StatusEvent if "event" in payload else Answer)


def test_the_contract_examples_are_accepted() -> None:
    messages = load_contract("asyncapi.yaml")["components"]["messages"]
    for message in messages.values():
        for example in message["examples"]:
            assert parse_payload(json.dumps(example["payload"]).encode()) is not None
