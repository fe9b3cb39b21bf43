"""The pytest plugin's fixtures, used exactly as a user's test suite would (it is installed as a
``pytest11`` entry point, so nothing is imported here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from session_client import (
    AsyncSessionClient,
    ResponseTimeoutError,
    SessionClient,
    SessionRejectedError,
)
from session_client.testing import LocalStack, SimulatedHuman

pytestmark = pytest.mark.integration


def test_the_human_answers_the_next_message_as_told(
    sync_session_client: SessionClient, session_human: SimulatedHuman
) -> None:
    session_human.answer_next({"approved": False, "reason": "too risky"}, delay=0.05)
    sync_session_client.create_session("plugin-answer", subject_id="plugin")
    answer = sync_session_client.send_and_wait_for_response(
        "plugin-answer", "chan", "Deploy?", "plugin", timeout=10
    )
    assert answer["response"] == {"approved": False, "reason": "too risky"}
    assert [message["message"] for message in session_human.received] == ["Deploy?"]


def test_a_silent_human_leads_to_a_timeout(
    sync_session_client: SessionClient, session_human: SimulatedHuman
) -> None:
    # The human stays silent from now on: the next test must still find it answering.
    session_human.stay_silent()
    sync_session_client.create_session("plugin-silent")
    with pytest.raises(ResponseTimeoutError):
        sync_session_client.send_and_wait_for_response(
            "plugin-silent", "c", "Hi?", "s", timeout=0.3
        )


def test_the_human_is_reset_between_tests(
    sync_session_client: SessionClient, session_human: SimulatedHuman
) -> None:
    assert session_human.received == []
    sync_session_client.create_session("plugin-reset")
    answer = sync_session_client.send_and_wait_for_response(
        "plugin-reset", "c", "Ok?", "s", timeout=10
    )
    assert answer["response"] == {"approved": True}


async def test_async_client_and_a_failing_human(
    async_session_client: AsyncSessionClient, session_human: SimulatedHuman
) -> None:
    session_human.reject_next(delay=0.05)
    await async_session_client.create_session("plugin-async")
    with pytest.raises(SessionRejectedError):
        await async_session_client.send_and_wait_for_response(
            "plugin-async", "c", "Sure?", "s", timeout=10
        )


def test_tests_share_one_stack(session_stack: LocalStack, shared_session_stack: LocalStack) -> None:
    assert session_stack is shared_session_stack


@pytest.mark.fresh_session_stack(api_token="plugin-token", auto_respond={"fresh": True})
def test_a_marked_test_gets_its_own_stack_with_options(
    session_stack: LocalStack, shared_session_stack: LocalStack, sync_session_client: SessionClient
) -> None:
    assert session_stack is not shared_session_stack
    assert sync_session_client.list_sessions()["items"] == []  # authenticated, and empty
    sync_session_client.create_session("plugin-fresh")
    answer = sync_session_client.send_and_wait_for_response(
        "plugin-fresh", "c", "New?", "s", timeout=10
    )
    assert answer["response"] == {"fresh": True}


def test_loading_the_plugin_does_not_need_the_testing_extra() -> None:
    # pytest loads every installed pytest11 plugin, also without the testing extra.
    code = (
        "import sys, session_client.pytest_plugin; "
        "assert not {'session_client.testing', 'uvicorn', 'starlette'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_old_fixture_name_is_an_alias(
    session_client: SessionClient, sync_session_client: SessionClient
) -> None:
    assert session_client is sync_session_client


def test_a_pytest_run_imports_the_clients_only_for_a_test_that_uses_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only this plugin, loaded as its entry point loads it: other installed plugins import httpx.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(
        """
        import sys

        HEAVY = {"nats", "session_client.async_client", "session_client.testing"}

        def test_a_test_without_its_fixtures():
            assert not HEAVY & set(sys.modules)

        def test_a_test_with_one(sync_session_client):
            assert HEAVY <= set(sys.modules)
        """
    )
    result = pytester.runpytest_subprocess("-p", "session_client.pytest_plugin", timeout=120)
    result.assert_outcomes(passed=2)
