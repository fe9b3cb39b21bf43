"""What the inbox's answer editor starts with, from a session's ``message_data_template``."""

from __future__ import annotations

from typing import Any

import pytest

from session_client.testing.inbox import draft_answer


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
                "approved": False,
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
def test_the_draft_follows_the_template(template: dict[str, Any], draft: dict[str, Any]) -> None:
    assert draft_answer(template) == draft
