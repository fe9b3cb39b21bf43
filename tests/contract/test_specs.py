"""The contracts are valid documents and agree with each other and with the code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from session_client.subjects import (
    DEFAULT_SUBJECT_TEMPLATE,
    SUBJECT_ID_MAX_LENGTH,
    SUBJECT_ID_PATTERN,
    is_valid_subject_id,
    response_subject,
    session_subject,
    session_token,
)
from session_client.testing.contracts import load_contract

OPENAPI = load_contract("openapi.yaml")
ASYNCAPI = load_contract("asyncapi.yaml")

FIXED_OPERATIONS = {
    ("post", "/sessions"): "createSession",
    ("get", "/sessions/{session_id}"): "getSession",
    ("get", "/sessions"): "listSessions",
    ("get", "/sessions/{session_id}/messages"): "listMessages",
    ("post", "/sessions/{session_id}/messages"): "sendMessage",
    ("get", "/sessions/{session_id}/messages/{message_id}"): "getMessage",
    ("post", "/sessions/{session_id}/messages/{message_id}/response"): "submitResponse",
    ("post", "/sessions/{session_id}/reject"): "rejectSession",
    ("get", "/messages/settled"): "listSettledMessages",
    ("post", "/sessions/expire"): "expireSessions",
    ("get", "/health"): "getHealth",
}


def test_openapi_is_a_valid_openapi_31_document() -> None:
    assert OPENAPI["openapi"].startswith("3.1")
    validate(OPENAPI)


def test_openapi_has_exactly_the_fixed_operations_each_documented() -> None:
    found = {}
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            found[(method, path)] = operation["operationId"]
            assert operation["tags"], operation["operationId"]
            assert operation["summary"], operation["operationId"]
            for status, response in operation["responses"].items():
                assert "$ref" in response or "examples" in str(response), (path, method, status)
    assert found == FIXED_OPERATIONS


def test_error_responses_are_problem_json() -> None:
    for name, response in OPENAPI["components"]["responses"].items():
        assert list(response["content"]) == ["application/problem+json"], name


def test_asyncapi_is_version_3_with_the_default_subjects() -> None:
    assert ASYNCAPI["asyncapi"] == "3.0.0"
    channels = ASYNCAPI["channels"]
    assert channels["subjectResponses"]["address"] == DEFAULT_SUBJECT_TEMPLATE
    assert channels["sessionResponses"]["address"] == session_subject(
        DEFAULT_SUBJECT_TEMPLATE, "{session_token}"
    )
    publishes = {
        op["channel"]["$ref"] for op in ASYNCAPI["operations"].values() if op["action"] == "send"
    }
    assert publishes == {"#/channels/sessionResponses"}  # never subject-wide any more


@pytest.mark.parametrize(
    ("session_id", "token"),
    [("session123", "session123"), ("order.7", "order/7"), ("a.b.c", "a/b/c")],
)
def test_a_session_is_one_token_of_its_subject(session_id: str, token: str) -> None:
    assert session_token(session_id) == token
    subject = response_subject(DEFAULT_SUBJECT_TEMPLATE, "orders.eu")
    assert session_subject(subject, session_id) == f"sessions.responses.orders.eu.{token}"
    described = ASYNCAPI["channels"]["sessionResponses"]["parameters"]["session_token"]
    assert "every `.` written as `/`" in described["description"]


def test_subject_rule_is_the_same_in_both_contracts_and_the_code() -> None:
    schema = OPENAPI["components"]["schemas"]["SubjectId"]
    assert schema["pattern"] == SUBJECT_ID_PATTERN
    assert schema["maxLength"] == SUBJECT_ID_MAX_LENGTH
    parameter = ASYNCAPI["components"]["parameters"]["subject_id"]
    assert SUBJECT_ID_PATTERN.replace("\\\\", "\\") in parameter["description"]


@pytest.mark.parametrize(
    ("subject_id", "legal"),
    [
        ("subjectXYZ", True),
        ("user-42.approvals", True),
        ("a:b@c+d=e~f_g", True),
        ("", False),
        ("a b", False),
        ("a\tb", False),
        ("*", False),
        ("a.>", False),
        ("a..b", False),
        (".a", False),
        ("a.", False),
        ("abc\n", False),
        ("x" * 129, False),
    ],
)
def test_subject_rule(subject_id: str, legal: bool) -> None:
    assert is_valid_subject_id(subject_id) is legal


@pytest.mark.parametrize("message", ["Response", "SessionStatus"])
def test_asyncapi_examples_match_their_payload_schemas(message: str) -> None:
    definition = ASYNCAPI["components"]["messages"][message]
    schema = {"$ref": definition["payload"]["$ref"], "components": ASYNCAPI["components"]}
    for example in definition["examples"]:
        jsonschema.validate(example["payload"], schema)
        jsonschema.validate(example["headers"], definition["headers"])


def test_asyncapi_passes_the_official_asyncapi_parser() -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        ["node", str(root / "scripts" / "validate_asyncapi.mjs"), str(root / "asyncapi.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid AsyncAPI 3.0.0 (0 warnings)" in result.stdout
