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
    session_client: SessionClient, session_human: SimulatedHuman
) -> None:
    session_human.answer_next({"approved": False, "reason": "too risky"}, delay=0.05)
    session_client.create_session("plugin-answer", subject_id="plugin")
    answer = session_client.send_and_wait_for_response(
        "plugin-answer", "chan", "Deploy?", "plugin", timeout=10
    )
    assert answer["response"] == {"approved": False, "reason": "too risky"}
    assert [message["message"] for message in session_human.received] == ["Deploy?"]


def test_a_silent_human_leads_to_a_timeout(
    session_client: SessionClient, session_human: SimulatedHuman
) -> None:
    # The human stays silent from now on: the next test must still find it answering.
    session_human.stay_silent()
    session_client.create_session("plugin-silent")
    with pytest.raises(ResponseTimeoutError):
        session_client.send_and_wait_for_response("plugin-silent", "c", "Hi?", "s", timeout=0.3)


def test_the_human_is_reset_between_tests(
    session_client: SessionClient, session_human: SimulatedHuman
) -> None:
    assert session_human.received == []
    session_client.create_session("plugin-reset")
    answer = session_client.send_and_wait_for_response("plugin-reset", "c", "Ok?", "s", timeout=10)
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
    session_stack: LocalStack, shared_session_stack: LocalStack, session_client: SessionClient
) -> None:
    assert session_stack is not shared_session_stack
    assert session_client.list_sessions()["items"] == []  # authenticated, and empty
    session_client.create_session("plugin-fresh")
    answer = session_client.send_and_wait_for_response("plugin-fresh", "c", "New?", "s", timeout=10)
    assert answer["response"] == {"fresh": True}


def test_loading_the_plugin_does_not_need_the_testing_extra() -> None:
    # pytest loads every installed pytest11 plugin, also without the testing extra.
    code = (
        "import sys, session_client.pytest_plugin; "
        "assert not {'session_client.testing', 'uvicorn', 'starlette'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
