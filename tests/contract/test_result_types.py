"""The TypedDicts of ``session_client.types`` are the contract's schemas: the same members, all
required, the same enums; and ``mypy --strict`` rejects a misspelt key of a returned record."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

from session_client import types
from session_client.testing.contracts import load_contract

OPENAPI = load_contract("openapi.yaml")["components"]["schemas"]
ASYNCAPI = load_contract("asyncapi.yaml")["components"]["schemas"]

RESULTS = [
    (types.Session, OPENAPI["Session"]),
    (types.SessionPage, OPENAPI["SessionPage"]),
    (types.Message, OPENAPI["Message"]),
    (types.MessagePage, OPENAPI["MessagePage"]),
    (types.SettledMessagePage, OPENAPI["SettledMessagePage"]),
    (types.ExpireResult, OPENAPI["ExpireResult"]),
    (types.ResponsePayload, ASYNCAPI["ResponsePayload"]),
    (types.ModelResponsePayload, ASYNCAPI["ResponsePayload"]),
]


@pytest.mark.parametrize(("typed", "schema"), RESULTS, ids=[t.__name__ for t, _ in RESULTS])
def test_each_result_type_has_the_schemas_members(typed: Any, schema: dict[str, Any]) -> None:
    assert set(typed.__annotations__) == set(schema["properties"])
    assert typed.__required_keys__ == set(schema["required"])


@pytest.mark.parametrize(
    ("alias", "schema"),
    [(types.SessionStatus, "SessionStatus"), (types.MessageState, "MessageState")],
)
def test_the_enums_are_the_contracts(alias: Any, schema: str) -> None:
    assert list(typing.get_args(alias)) == OPENAPI[schema]["enum"]


def test_mypy_rejects_a_misspelt_key_of_a_returned_session(tmp_path: Path) -> None:
    (tmp_path / "user.py").write_text(
        "from session_client import SessionClient\n"
        "session = SessionClient('http://localhost:8000').get_session('s1')\n"
        "print(session['stauts'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "c"), "user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'TypedDict "Session" has no key "stauts"' in result.stdout
