"""Shared fixtures: one real local stack (nats-server + reference server) per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from session_client.testing import LocalStack

# pytester runs the README's example test file as a user's suite would (tests/test_readme.py).
pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """A running local stack; its simulated human is reset to answer at once for each module."""
    with LocalStack() as running:
        yield running


@pytest.fixture
def human(stack: LocalStack):  # type: ignore[no-untyped-def]
    """The stack's simulated human, back to its default (answer ``{"approved": true}``) after."""
    yield stack.human
    stack.human.answer_with({"approved": True})
