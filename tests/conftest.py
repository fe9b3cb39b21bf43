"""Shared fixtures: one real local stack (nats-server + reference server) per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from session_client import SessionClient, _transport
from session_client.testing import LocalStack, SimulatedHuman

# pytester runs the README's example test file as a user's suite would (tests/test_readme.py).
pytest_plugins = ["pytester"]

#: For tests of the aiohttp transport: where no aiohttp it works with is installed, only
#: httpx's own transport is tested.
needs_aiohttp = pytest.mark.skipif(
    not _transport.supported_aiohttp(),
    reason="aiohttp is not installed (the aiohttp extra): only httpx's own transport is tested",
)


@pytest.fixture(params=["httpx", pytest.param("aiohttp", marks=needs_aiohttp)])
def http_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test once with each default transport: httpx's own, and aiohttp's (the default
    when the aiohttp extra is installed). Clients made by the test get it."""
    backend: str = request.param
    monkeypatch.setattr(_transport, "backend", backend)
    return backend


@pytest.fixture
def httpx_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx's own transport for the clients the test makes: respx mocks that one."""
    monkeypatch.setattr(_transport, "backend", "httpx")


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
