"""What a consumer group's member holds (``_wait/_holding``) and the items it hands out."""

from __future__ import annotations

import pytest

from session_client import Answered, SessionEnded
from session_client._wait._holding import Holding
from session_client._wait._records import record_outcome
from session_client.errors import SessionExpiredError


def test_a_member_fetches_only_when_it_holds_nothing_queued_and_up_to_its_limit() -> None:
    holding: Holding[str] = Holding(3)
    assert holding.batch() == 3
    holding.add(["a", "b", "c"])
    assert (holding.batch(), len(holding)) == (0, 3)
    assert holding.hand_out() == "a"
    assert holding.finish() == "a"
    assert holding.hand_out() == "b"
    assert len(holding) == 2
    assert holding.unstarted() == ["c"]  # never handed out: given back
    assert holding.batch() == 2  # the current one still counts
    assert holding.finish() == "b"
    assert holding.hand_out() is None and holding.batch() == 3


def test_what_is_held_can_be_let_go_of_by_identity() -> None:
    a, b, c, d = ["a"], ["b"], ["c"], ["d"]  # equal lists would compare equal: identity counts
    holding: Holding[list[str]] = Holding(4)
    holding.add([a, b, c])
    holding.hand_out()
    assert holding.held() == [a, b, c]
    holding.drop([a, c, d, ["b"]])  # d is not held; ["b"] is not b
    assert holding.held() == [b] and holding.current is None
    assert holding.hand_out() is b


def test_items_carry_their_idempotency_key() -> None:
    payload = {
        "session_id": "s",
        "message_id": "m",
        "channel_id": "c",
        "subject_id": "x",
        "response": {"ok": True},
        "responded_at": "2026-01-01T00:00:00Z",
    }
    answer = Answered(payload, deliveries=2)  # type: ignore[arg-type]
    assert (answer.key, answer.session_id, answer.response) == ("m", "s", {"ok": True})
    assert SessionEnded("s", "EXPIRED").key == "status:s:EXPIRED"


def test_one_mapping_from_a_message_record_to_its_outcome() -> None:
    record = {"session_id": "s", "message_id": "m", "channel_id": "c", "subject_id": "x"}
    answered = record_outcome(
        {**record, "state": "ANSWERED", "response": {}, "responded_at": "2026-01-01T00:00:00Z"}
    )
    assert answered is not None and not isinstance(answered, type)
    assert answered.payload["message_id"] == "m"
    assert record_outcome({**record, "state": "EXPIRED"}) is SessionExpiredError
    assert record_outcome({**record, "state": "SENT"}) is None


@pytest.mark.parametrize(
    "reply",
    [
        "$JS.ACK.SESSION_RESPONSES.workers.3.1234.1200.1733490000000000000.7",
        "$JS.ACK.hub.ACC1234.SESSION_RESPONSES.workers.3.1234.1200.1733490000000000000.7",
        "$JS.ACK.hub.ACC1234.SESSION_RESPONSES.workers.3.1234.1200.1733490000000000000.7.tok",
        "$JS.ACK.SESSION_RESPONSES.workers.1.9.9.1733490000000000000.0",
    ],
)
def test_deliveries_are_what_nats_py_reads_from_the_ack_subject(reply: str) -> None:
    from nats.aio.msg import Msg

    from session_client._wait._nats import deliveries

    msg = Msg(None, subject="sessions.responses.s.x", reply=reply)  # type: ignore[arg-type]
    assert deliveries(msg) == msg.metadata.num_delivered


@pytest.mark.parametrize("reply", ["", "_INBOX.abc", "$JS.ACK.too.short"])
def test_deliveries_of_a_message_not_from_jetstream_raise_as_nats_py_does(reply: str) -> None:
    from nats.aio.msg import Msg
    from nats.errors import NotJSMessageError

    from session_client._wait._nats import deliveries

    with pytest.raises(NotJSMessageError):
        deliveries(Msg(None, subject="x", reply=reply))  # type: ignore[arg-type]
