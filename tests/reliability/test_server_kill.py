"""Scenario 17: the reference server is SIGKILLed between storing an answer and recording its
Idempotency-Key, and started again on the same store; the client's retry with the same key must
get the answer (200), not a 409 "is ANSWERED" for its own first attempt (issue 26, item 6)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..ports import free_port
from .conftest import scale
from .server_process import server_process

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


def test_a_retried_answer_after_a_server_sigkill_is_replayed_not_a_conflict(
    tmp_path: Path, figures: Callable[..., None]
) -> None:
    rounds, db, port = scale(2, 10), tmp_path / "store.sqlite", free_port()
    outcomes: Counter[str] = Counter()
    for index in range(rounds):
        session_id, key = f"kill-{index}", f"answer-{index}"
        with server_process(db, port) as url:
            assert httpx.post(f"{url}/sessions", json={"session_id": session_id}).status_code == 201
            sent = httpx.post(
                f"{url}/sessions/{session_id}/messages", json={"channel_id": "c", "message": "?"}
            )
            path = f"/sessions/{session_id}/messages/{sent.json()['message_id']}/response"
        body: dict[str, Any] = {"response": {"round": index}}
        headers = {"Idempotency-Key": key}
        with (
            server_process(db, port, "--die-before-idempotency-record") as url,
            pytest.raises(httpx.TransportError),  # it dies mid-request
        ):
            httpx.post(url + path, json=body, headers=headers, timeout=10)
        with server_process(db, port) as url:
            retried = httpx.post(url + path, json=body, headers=headers, timeout=10)
            outcomes[str(retried.status_code)] += 1
            stored = httpx.get(url + path.removesuffix("/response")).json()
        assert retried.status_code == 200, retried.text
        assert (stored["state"], stored["response"]) == ("ANSWERED", body["response"])
    figures(
        "17. Reference server SIGKILL between an answer and its Idempotency-Key record",
        expected=rounds,
        delivered=outcomes["200"],
        duplicated=0,
        wrong=rounds - outcomes["200"],
        retried_statuses=dict(outcomes),
        conditions="kill inside submitResponse, after the answer, before the record; "
        "restart on the same port and store; retry with the same key",
    )
