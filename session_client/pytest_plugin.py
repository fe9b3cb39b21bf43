"""The pytest plugin of session_client_lib: test code that asks a human, against the local stack.

Registered as the ``pytest11`` entry point ``session_client``, so installing
``session_client_lib[testing]`` is all it takes. Fixtures:

``session_stack``
    The running :class:`~session_client.testing.LocalStack` of this test: one stack shared by
    the whole run (``shared_session_stack``), or a new one for a test marked
    ``@pytest.mark.fresh_session_stack(**local_stack_options)``.
``session_human``
    Its :class:`~session_client.testing.SimulatedHuman`: ``answer_next(obj, delay=...)``,
    ``stay_silent_next()``, ``reject_next()``, ``answer_with(...)``, ``received``, ... Reset to
    answering ``{"approved": true}`` at once after every test.
``sync_session_client`` / ``async_session_client``
    A :class:`~session_client.SessionClient` / :class:`~session_client.AsyncSessionClient`
    connected to ``session_stack``, closed after the test (the async one needs pytest-asyncio,
    which the testing extra brings). An ``async def`` test that takes ``async_session_client``
    runs under pytest-asyncio in any of its modes: the plugin marks it ``asyncio``.
``session_client``
    The old name of ``sync_session_client``, kept as an alias (it shadows the package's name in
    a test that also imports ``session_client``).

``--session-inbox`` makes you the human: the shared stack's simulated human stays silent and its
inbox page (``session_stack.inbox_url``) opens in a browser, where you answer what the tests ask.

The plugin lives outside ``session_client.testing`` and imports the stack and the clients (with
httpx and nats-py) only inside its fixtures: pytest loads every installed ``pytest11`` plugin in
every run, also where the testing extra is not installed, and must neither fail nor slow down
there (``session_client`` itself imports its clients on first use).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from session_client import AsyncSessionClient, SessionClient
    from session_client.testing import LocalStack, SimulatedHuman

__all__ = [
    "session_client",
    "session_human",
    "session_stack",
    "shared_session_stack",
    "sync_session_client",
]

FRESH_MARKER = "fresh_session_stack"
INBOX_OPTION = "--session-inbox"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--session-inbox``."""
    parser.getgroup("session_client").addoption(
        INBOX_OPTION,
        action="store_true",
        help="be the human: the shared local stack's simulated human stays silent and its "
        "inbox page opens in a browser",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fresh_session_stack`` marker."""
    config.addinivalue_line(
        "markers",
        f"{FRESH_MARKER}(**options): give this test its own local stack, started with "
        "LocalStack(**options) (session_client plugin)",
    )


def _testing() -> ModuleType:
    try:
        import session_client.testing.inbox
    except ImportError as exc:
        raise pytest.UsageError(
            f"the session_client fixtures need the testing extra: "
            f"pip install 'session_client_lib[testing]' ({exc})"
        ) from exc
    return session_client.testing


def _local_stack(**options: object) -> LocalStack:
    return _testing().LocalStack(**options)  # type: ignore[no-any-return]


def _open_inbox(config: pytest.Config, url: str) -> None:
    plugins = config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    # Said on the terminal even while pytest captures what fixtures print.
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        _testing().inbox.open_inbox(url, reporter.write_line if reporter else print)


@pytest.fixture(scope="session")
def shared_session_stack(pytestconfig: pytest.Config) -> Iterator[LocalStack]:
    """One local stack (nats-server, reference server, simulated human) for the whole run;
    with ``--session-inbox`` its human is silent and its inbox page opens in a browser."""
    inbox = pytestconfig.getoption(INBOX_OPTION)
    options = {"human": _testing().SimulatedHuman(silent=True)} if inbox else {}
    with _local_stack(**options) as stack:
        if inbox:
            _open_inbox(pytestconfig, stack.inbox_url)
        yield stack


@pytest.fixture
def session_stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """The local stack of this test: the shared one, or a fresh one for tests marked
    ``fresh_session_stack``. Its simulated human is reset after the test."""
    marker = request.node.get_closest_marker(FRESH_MARKER)
    if marker is not None:
        with _local_stack(**marker.kwargs) as stack:
            yield stack
        return
    stack = request.getfixturevalue("shared_session_stack")
    try:
        yield stack
    finally:
        stack.human.reset()


@pytest.fixture
def session_human(session_stack: LocalStack) -> SimulatedHuman:
    """The simulated human of ``session_stack``: tell it how to answer the next messages."""
    return session_stack.human


@pytest.fixture
def sync_session_client(session_stack: LocalStack) -> Iterator[SessionClient]:
    """A :class:`~session_client.SessionClient` connected to ``session_stack``."""
    from session_client import SessionClient

    with SessionClient(
        session_stack.api_url, [session_stack.nats_url], api_key=session_stack.api_token
    ) as client:
        yield client


@pytest.fixture
def session_client(sync_session_client: SessionClient) -> SessionClient:
    """The old name of ``sync_session_client`` (it shadows the package name), kept working."""
    return sync_session_client


# Async fixtures need pytest-asyncio, part of the testing extra; without it the rest still works.
if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def async_session_client(session_stack: LocalStack) -> AsyncIterator[AsyncSessionClient]:
        """An :class:`~session_client.AsyncSessionClient` connected to ``session_stack``."""
        from session_client import AsyncSessionClient

        async with AsyncSessionClient(
            session_stack.api_url, [session_stack.nats_url], api_key=session_stack.api_token
        ) as client:
            yield client

    __all__ += ["async_session_client"]

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makeitem(
        collector: pytest.Module | pytest.Class, name: str, obj: object
    ) -> None:
        """Mark ``async def`` tests that take ``async_session_client`` with ``asyncio``: in
        pytest-asyncio's default strict mode an unmarked one would not run at all."""
        if (
            inspect.iscoroutinefunction(obj)
            and collector.istestfunction(obj, name)
            and "async_session_client" in inspect.signature(obj).parameters
        ):
            pytest.mark.asyncio(obj)
