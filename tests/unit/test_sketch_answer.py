"""The simulated human's answer to a message with a ``response_schema``: sketched from it."""

from __future__ import annotations

from typing import Any

import pytest

from session_client.answer_schemas import answer_errors
from session_client.testing.sketch import sketch_answer


@pytest.mark.parametrize(
    ("template", "draft"),
    [
        ({}, {}),  # the permissive default: no shape to follow
        ({"type": "string"}, {}),  # not an object: the answer still must be one
        ({"type": "object"}, {}),
        ({"default": {"approved": True}}, {"approved": True}),
        ({"examples": [{"ok": 1}, {"ok": 2}]}, {"ok": 1}),
        (
            {
                "type": "object",
                "properties": {
                    "approved": {"type": "boolean"},
                    "reason": {"type": "string", "default": "fine"},
                    "amount": {"type": ["null", "number"]},
                    "count": {"type": "integer"},
                    "tags": {"type": "array"},
                    "level": {"enum": ["low", "high"]},
                    "kind": {"const": "refund"},
                    "nested": {"properties": {"when": {"examples": ["today"]}}},
                    "anything": {},
                    "odd": True,
                },
            },
            {
                "approved": True,
                "reason": "fine",
                "amount": 0,
                "count": 0,
                "tags": [],
                "level": "low",
                "kind": "refund",
                "nested": {"when": "today"},
                "anything": None,
                "odd": None,
            },
        ),
    ],
)
def test_the_answer_follows_the_schema(template: dict[str, Any], draft: dict[str, Any]) -> None:
    assert sketch_answer(template) == draft


def test_the_sketch_keeps_to_the_schemas_lower_bounds() -> None:
    schema = {
        "type": "object",
        "required": ["name", "amount", "tags", "ok"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 3},
            "amount": {"type": "number", "exclusiveMinimum": 0},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 2},
            "ok": {"type": "boolean"},
        },
    }
    answer = sketch_answer(schema)
    assert answer == {"name": "xxx", "amount": 1, "tags": ["a", "a"], "ok": True}
    assert answer_errors(schema, answer) == []
