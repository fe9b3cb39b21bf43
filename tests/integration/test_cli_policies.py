"""``session-client send-and-wait --remind/--escalate/--on-timeout`` and ``quorum`` (issue 30),
run as a user runs them, against a real local stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from session_client.cli.exit_codes import ExitCode
from session_client.testing import LocalStack, SimulatedHuman

from .test_cli import output, run

pytestmark = pytest.mark.integration


@pytest.fixture
def human(stack: LocalStack) -> Iterator[SimulatedHuman]:
    stack.human.reset()
    yield stack.human
    stack.human.reset()


def test_send_and_wait_reminds_escalates_and_defaults(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.ignore_channel("chat")
    output(run(stack, "create", "cli-policy"))
    answer = output(
        run(
            stack,
            "send-and-wait",
            "cli-policy",
            "chat",
            "Ship?",
            "subj",
            "--message-id",
            "p1",
            "--remind",
            "0.2",
            "--remind",
            "0.4",
            "--escalate",
            "0.6:ops",
        )
    )
    assert (answer["message_id"], answer["channel_id"]) == ("p1~e1", "ops")
    assert [m["message_id"] for m in output(run(stack, "messages", "cli-policy"))] == [
        "p1",
        "p1~r1",
        "p1~r2",
        "p1~e1",
    ]
    human.stay_silent()
    defaulted = output(
        run(
            stack,
            "send-and-wait",
            "cli-policy",
            "chat",
            "Ship?",
            "subj",
            "--timeout",
            "0.3",
            "--on-timeout",
            '{"approved": false}',
        )
    )
    assert defaulted["response"] == {"approved": False} and defaulted["defaulted"] is True


def test_bad_escalation_is_a_usage_error(stack: LocalStack) -> None:
    result = run(stack, "send-and-wait", "s", "c", "m", "subj", "--escalate", "soon")
    assert result.returncode == ExitCode.USAGE


def test_quorum_prints_the_answers_and_the_open_messages(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.ignore_channel("c")
    output(run(stack, "create", "cli-quorum"))
    result = output(
        run(
            stack,
            "quorum",
            "cli-quorum",
            "Approve?",
            "subj",
            "--channel",
            "a",
            "--channel",
            "b",
            "--channel",
            "c",
            "--quorum",
            "2",
            "--message-id",
            "v",
        )
    )
    assert sorted(a["message_id"] for a in result["answers"]) == ["v~q1", "v~q2"]
    assert result["unanswered"] == ["v~q3"]


def test_an_unreachable_quorum_exits_7_naming_the_open_messages(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.ignore_channel("c")
    human.reject_sessions(delay=0.3)
    output(run(stack, "create", "cli-unreachable"))
    result = run(
        stack,
        "quorum",
        "cli-unreachable",
        "Approve?",
        "subj",
        "--channel",
        "a",
        "--channel",
        "c",
        "--quorum",
        "2",
        "--timeout",
        "30",
    )
    assert result.returncode == ExitCode.UNREACHABLE, result.stderr
    assert "QuorumUnreachableError" in result.stderr
