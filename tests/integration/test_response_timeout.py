"""What a wait that times out reports: the NATS subject it really listened on."""

from __future__ import annotations

import pytest

from session_client import ResponseTimeoutError, SessionClient
from session_client.testing import SimulatedHuman

pytestmark = pytest.mark.integration


def test_the_timeout_names_the_session_subject_it_listened_on(
    sync_session_client: SessionClient, session_human: SimulatedHuman
) -> None:
    session_human.stay_silent()
    # A dot in the session id is written as "/" in its subject token.
    sync_session_client.create_session("timeout.named", subject_id="orders")
    with pytest.raises(ResponseTimeoutError) as caught:
        sync_session_client.send_and_wait_for_response(
            "timeout.named", "chan", "Anyone?", "orders", timeout=0.3
        )
    assert caught.value.subject == "sessions.responses.orders.timeout/named"
    assert "on 'sessions.responses.orders.timeout/named' within 0.3 s" in str(caught.value)
