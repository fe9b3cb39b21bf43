"""Shared fixtures: one real local stack (nats-server + reference server) per test module."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from session_client import SessionClient
from session_client.testing import LocalStack, SimulatedHuman

# pytester runs the README's example test file as a user's suite would (tests/test_readme.py).
pytest_plugins = ["pytester"]

#: Every HTTP backend, each skipped where its library is not installed (its extra).
BACKENDS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            importlib.util.find_spec(name) is None, reason=f"{name} is not installed"
        ),
    )
    for name in ("httpx", "aiohttp", "httpx2")
]


@pytest.fixture(params=BACKENDS)
def http_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test once per HTTP backend: clients made by the test without http_backend=
    get it (through ORG_HTTP_BACKEND, as a user would choose it)."""
    backend: str = request.param
    monkeypatch.setenv("ORG_HTTP_BACKEND", backend)
    return backend


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """A running local stack; its simulated human is reset to answer at once for each module."""
    with LocalStack() as running:
        yield running


@pytest.fixture
def human(stack: LocalStack):  # type: ignore[no-untyped-def]
    """The stack's simulated human, back to its default (answer ``{"approved": true}``) after,
    with the one-shots a test queued but did not use dropped: a call that timed out before
    its message was sent leaves its ``stay_silent_next`` for the next test's message."""
    yield stack.human
    stack.human.reset()


@pytest.fixture(scope="module")
def silent_stack() -> Iterator[LocalStack]:
    """A running local stack whose simulated human never answers: the dev inbox is the human."""
    with LocalStack(human=SimulatedHuman(silent=True)) as running:
        yield running


@pytest.fixture(scope="module")
def silent_client(silent_stack: LocalStack) -> Iterator[SessionClient]:
    """A :class:`SessionClient` of ``silent_stack``."""
    with SessionClient(silent_stack.api_url, [silent_stack.nats_url]) as client:
        yield client
