"""The documentation's code examples (sections 4.1-4.4), run verbatim against the local stack."""

from __future__ import annotations

import contextlib
import io
import re
import socket
import subprocess
from pathlib import Path

import pytest

from session_client.testing import LocalStack

pytestmark = pytest.mark.integration

SEED_NAME = "000_222ff75bb0a734ea.txt"
CHECKOUT = Path(__file__).resolve().parents[2]

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


def _git(checkout: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(checkout), *args], capture_output=True, text=True, timeout=10
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def seed_candidates(checkout: Path) -> list[Path]:
    """Where the documentation may be: ``../shared`` beside this checkout, beside the repository
    a worktree belongs to, or beside the local repository it was cloned from."""
    roots = [checkout]
    common = _git(checkout, "rev-parse", "--path-format=absolute", "--git-common-dir")
    if common:
        roots.append(Path(common).parent)
    origin = _git(checkout, "config", "--get", "remote.origin.url")
    if origin and Path(origin).is_dir():
        roots.append(Path(origin).resolve())
    candidates = [root.parent / "shared" / "seeds" / SEED_NAME for root in roots]
    return list(dict.fromkeys(candidates))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_examples_are_the_documentation_s_own() -> None:
    candidates = seed_candidates(CHECKOUT)
    seed = next((path for path in candidates if path.is_file()), None)
    if seed is None:
        pytest.skip(
            "the documentation this library implements is not beside the repository; looked in "
            + ", ".join(map(str, candidates))
        )
    documentation = _squash(seed.read_text(encoding="utf-8"))
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
        assert_examples_ran(output.getvalue())
        assert stack.server is not None
        assert stack.server.store.get_session("session123")["status"] == "FAILED"


def assert_examples_ran(printed: str) -> None:
    """What running :data:`EXAMPLES` against a stack whose human answers
    ``{"details": "confirmed"}`` prints."""
    assert "Session created: {'session_id': 'session123', 'status': 'ACTIVE'" in printed
    assert "Received response: {'session_id': 'session123'" in printed
    assert "'response': {'details': 'confirmed'}" in printed
    assert "Error waiting" not in printed


def test_the_documentation_is_found_from_a_worktree_or_a_clone_elsewhere(tmp_path: Path) -> None:
    seed = tmp_path / "project" / "shared" / "seeds" / SEED_NAME
    seed.parent.mkdir(parents=True)
    seed.write_text("the documentation")
    main = tmp_path / "project" / "main"
    main.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(main)], check=True, timeout=30)
    subprocess.run([*git, "-C", str(main), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    worktree, clone = tmp_path / "elsewhere" / "wt", tmp_path / "other" / "clone"
    subprocess.run([*git, "-C", str(main), "worktree", "add", "-q", str(worktree)], check=True)
    subprocess.run([*git, "clone", "-q", str(main), str(clone)], check=True, timeout=30)
    for checkout in (main, worktree, clone):
        assert seed in seed_candidates(checkout)
    assert seed not in seed_candidates(tmp_path / "unrelated")
