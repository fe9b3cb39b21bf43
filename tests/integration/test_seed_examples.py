"""The documentation's code examples (sections 4.1-4.4), run verbatim against the local stack."""

from __future__ import annotations

import contextlib
import io
import re
import socket
from pathlib import Path

import pytest

from session_client.testing import LocalStack

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_222ff75bb0a734ea.txt"

# Copied verbatim from the documentation; the test below checks they still match it.
EXAMPLES = [
    """from session_client import SessionClient

client = SessionClient(api_base_url="http://localhost:8000")""",
    """session = client.create_session(
    session_id="session123",
    message_data={"initial": "data"},
    expiry_date=1700000000,
    subject_id="subjectXYZ"
)
print("Session created:", session)""",
    """try:
    response = client.send_and_wait_for_response(
        session_id="session123",
        channel_id="channelABC",
        message="Please confirm your details.",
        subject_id="subjectXYZ",
        timeout=120
    )
    print("Received response:", response)
except Exception as e:
    print("Error waiting for response:", e)""",
    """client.reject_session("session123")""",
]


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_examples_are_the_documentation_s_own() -> None:
    if not SEED.exists():
        pytest.skip(f"the documentation is not beside this checkout ({SEED})")
    documentation = _squash(SEED.read_text(encoding="utf-8"))
    for example in EXAMPLES:
        assert _squash(example) in documentation


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_examples_run_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    if not _port_free(8000):
        pytest.skip("the examples use http://localhost:8000, which is taken on this machine")
    with LocalStack(port=8000, auto_respond={"details": "confirmed"}) as stack:
        # The documented way to point the client at NATS without changing the example.
        monkeypatch.setenv("ORG_NATS_URL", stack.nats_url)
        namespace: dict[str, object] = {}
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            for example in EXAMPLES:
                exec(compile(example, "<documentation>", "exec"), namespace)
        namespace["client"].close()  # type: ignore[attr-defined]
        printed = output.getvalue()
        assert "Session created: {'session_id': 'session123', 'status': 'ACTIVE'" in printed
        assert "Received response: {'session_id': 'session123'" in printed
        assert "'response': {'details': 'confirmed'}" in printed
        assert "Error waiting" not in printed
        assert stack.server is not None
        assert stack.server.store.get_session("session123")["status"] == "FAILED"
