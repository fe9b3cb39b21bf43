"""``session-client`` through real subprocesses against the local stack: output, exit codes,
environment, the waiting indicator on a terminal, Ctrl-C and the ``dev`` stack."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import session_client
from session_client.cli.exit_codes import ExitCode
from session_client.cli.parser import build_parser
from session_client.testing import LocalStack, SimulatedHuman
from tests.misconfigured_nats import MISCONFIGURED, WRONG_TOKEN, host_of
from tests.ports import free_port, wait_for_port

pytestmark = pytest.mark.integration

COMMAND = [sys.executable, "-m", "session_client"]
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("session-client"))
TIMEOUT = 60


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without ORG_* settings, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORG_")}
    env.update(extra)
    return env


def flags(stack: LocalStack) -> list[str]:
    return ["--api-url", stack.api_url, "--nats-url", stack.nats_url]


def run(
    stack: LocalStack | None, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m session_client ARGS`` (pointed at ``stack`` by flags) to completion."""
    argv = [*COMMAND, *args, *(flags(stack) if stack is not None else [])]
    return subprocess.run(
        argv, capture_output=True, text=True, env=env or clean_env(), timeout=TIMEOUT
    )


def start(stack: LocalStack, *args: str) -> subprocess.Popen[str]:
    """Start ``python -m session_client ARGS`` in the background, with Ctrl-C's default
    handling as a shell gives it, also when pytest itself runs with SIGINT ignored (a
    background job of a non-interactive shell): an ignored signal stays ignored in the child,
    a handled one is reset to the default."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [*COMMAND, *args, *flags(stack)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def background() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end is killed by its PID."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=TIMEOUT)


def output(result: subprocess.CompletedProcess[str]) -> Any:
    """The one compact JSON line a piped command prints."""
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1, "piped output must be one compact JSON document per line"
    return json.loads(lines[0])


def assert_one_error_line(stderr: str, *fragments: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("session-client")
    for fragment in fragments:
        assert fragment in lines[0]


def test_every_rest_operation_prints_its_json(stack: LocalStack, human: SimulatedHuman) -> None:
    human.stay_silent_next()
    created = output(
        run(stack, "create", "cli-ops", "--subject-id", "cli.ops", "--message-data", '{"a": 1}')
    )
    assert created["status"] == "ACTIVE" and created["message_data"] == {"a": 1}
    assert output(run(stack, "get", "cli-ops"))["subject_id"] == "cli.ops"
    listed = output(run(stack, "list", "--subject-id", "cli.ops", "--all", "--limit", "1"))
    assert [item["session_id"] for item in listed["items"]] == ["cli-ops"]

    sent = output(run(stack, "send", "cli-ops", "chan", "Approve?"))
    message_id = sent["message_id"]
    assert output(run(stack, "get", "cli-ops", "--message-id", message_id))["state"] == "SENT"
    answered = output(run(stack, "respond", "cli-ops", message_id, '{"approved": false}'))
    assert answered["response"] == {"approved": False}

    # Resuming a wait after the answer was published still returns it.
    payload = output(run(stack, "wait", "cli-ops", "cli.ops", "--message-id", message_id))
    assert payload["message_id"] == message_id and payload["response"] == {"approved": False}
    assert output(run(stack, "reject", "cli-ops"))["status"] == "FAILED"


def test_send_and_wait_prints_the_answer(stack: LocalStack, human: SimulatedHuman) -> None:
    human.answer_next({"approved": True, "by": "cli"}, delay=0.1)
    output(run(stack, "create", "cli-answer"))
    payload = output(run(stack, "send-and-wait", "cli-answer", "chan", "Ship it?", "cli-subject"))
    assert payload["session_id"] == "cli-answer"
    assert payload["response"] == {"approved": True, "by": "cli"}


def test_send_and_wait_run_again_with_its_message_id_sends_nothing_new(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.answer_next({"approved": True})
    output(run(stack, "create", "cli-again"))
    command = ["send-and-wait", "cli-again", "chan", "Ship it?", "cli-again", "--message-id"]
    first = output(run(stack, *command, "cli-again:ship"))
    delivered = len(human.received)
    again = output(run(stack, *command, "cli-again:ship"))
    assert first == again and first["message_id"] == "cli-again:ship"
    assert len(human.received) == delivered  # the human was not asked twice
    sent = output(
        run(
            stack,
            "send",
            "cli-again",
            "chan",
            "Ship it?",
            "--subject-id",
            "cli-again",
            "--message-id",
            "cli-again:ship",
        )
    )
    assert sent["state"] == "ANSWERED"


def test_timeout_exits_4_and_leaves_the_session_open(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.stay_silent_next()
    output(run(stack, "create", "cli-timeout"))
    result = run(stack, "send-and-wait", "cli-timeout", "c", "Hello?", "subj", "--timeout", "0.5")
    assert result.returncode == ExitCode.TIMED_OUT
    assert result.stdout == ""
    assert_one_error_line(result.stderr, "ResponseTimeoutError", "cli-timeout")
    assert output(run(stack, "get", "cli-timeout"))["status"] == "ACTIVE"


def test_rejected_while_waiting_exits_5(stack: LocalStack, human: SimulatedHuman) -> None:
    human.reject_next(delay=0.2)
    output(run(stack, "create", "cli-rejected"))
    result = run(stack, "send-and-wait", "cli-rejected", "c", "Deploy?", "subj", "--timeout", "30")
    assert result.returncode == ExitCode.REJECTED
    assert_one_error_line(result.stderr, "SessionRejectedError", "cli-rejected")


def test_expired_while_waiting_exits_6_and_expire_is_quiet(
    stack: LocalStack, human: SimulatedHuman, background: list[subprocess.Popen[str]]
) -> None:
    human.stay_silent_next()
    past = str(int(time.time()) - 1)
    output(run(stack, "create", "cli-expired", "--expiry-date", past, "--subject-id", "cli-exp"))
    delivered = len(human.received)
    waiting = start(stack, "send-and-wait", "cli-expired", "c", "Still?", "cli-exp")
    background.append(waiting)
    human.wait_for_messages(delivered + 1)

    quiet = run(stack, "expire")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    _, stderr = waiting.communicate(timeout=TIMEOUT)
    assert waiting.returncode == ExitCode.EXPIRED
    assert_one_error_line(stderr, "SessionExpiredError", "cli-expired")

    # A wait started after the expiry learns it from the API.
    late = run(stack, "wait", "cli-expired", "cli-exp", "--timeout", "5")
    assert late.returncode == ExitCode.EXPIRED
    verbose = output(run(stack, "expire", "--verbose"))
    assert verbose == {"expired_count": 0, "session_ids": []}


def test_create_with_expires_in_run_again_later_returns_the_same_session(
    stack: LocalStack,
) -> None:
    command = ("create", "cli-expires-in", "--expires-in", "3600", "--subject-id", "s")
    before = int(time.time())
    first = output(run(stack, *command))
    assert before + 3600 <= first["expiry_date"] <= time.time() + 3600
    time.sleep(max(0.0, before + 1 - time.time()))  # the next run computes another expiry
    assert output(run(stack, *command)) == first
    for different in (("--expires-in", "60"), ("--expires-in", "3600", "--subject-id", "t")):
        other = run(stack, "create", "cli-expires-in", *different)
        assert other.returncode == ExitCode.ERROR
        assert_one_error_line(other.stderr, "ConflictError")


def test_unknown_session_exits_3(stack: LocalStack) -> None:
    for args in (("get", "cli-missing"), ("wait", "cli-missing", "subj", "--timeout", "5")):
        result = run(stack, *args)
        assert result.returncode == ExitCode.NOT_FOUND
        assert_one_error_line(result.stderr, "NotFoundError", "cli-missing")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "required"),
        (("launch",), "invalid choice"),
        (("respond", "s", "m", "not json"), "not JSON"),
        (("wait", "s", "bad subject"), "subject_id"),
        (("send-and-wait", "s", "c", "m", "subj", "--timeout", "0"), "timeout"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    stack: LocalStack, args: tuple[str, ...], fragment: str
) -> None:
    result = run(None, *args, env=clean_env(ORG_API_URL=stack.api_url))
    assert result.returncode == ExitCode.USAGE
    assert_one_error_line(result.stderr, fragment)


def test_missing_api_url_is_a_usage_error() -> None:
    result = run(None, "get", "anything")
    assert result.returncode == ExitCode.USAGE
    assert_one_error_line(result.stderr, "ORG_API_URL")


def test_other_api_errors_exit_1(stack: LocalStack) -> None:
    output(run(stack, "create", "cli-conflict"))
    output(run(stack, "reject", "cli-conflict"))
    result = run(stack, "send", "cli-conflict", "c", "Too late?")
    assert result.returncode == ExitCode.ERROR
    assert_one_error_line(result.stderr, "ConflictError", "FAILED")


def test_nats_down_is_one_line_naming_the_refusal_and_verbose_adds_the_log(
    stack: LocalStack,
) -> None:
    output(run(stack, "create", "cli-nats-down"))
    nats_down = ["--nats-url", f"nats://127.0.0.1:{free_port()}", "--timeout", "10"]
    args = ["send-and-wait", "cli-nats-down", "c", "Hello?", "subj", "--api-url", stack.api_url]
    quiet = run(None, *args, *nats_down)
    assert quiet.returncode == ExitCode.ERROR
    assert_one_error_line(quiet.stderr, "NatsUnavailableError", "refused")
    verbose = run(None, *args, *nats_down, "--verbose")
    assert verbose.returncode == ExitCode.ERROR
    assert "WARNING session_client.nats: NATS error" in verbose.stderr
    assert verbose.stderr.splitlines()[-1] == quiet.stderr.strip()


@pytest.mark.parametrize("name", MISCONFIGURED)
def test_a_misconfigured_nats_exits_1_at_once_naming_it_and_sends_nothing(
    stack: LocalStack, name: str
) -> None:
    case = MISCONFIGURED[name]
    sid = f"cli-misconfigured-{name.replace(' ', '-')}"
    output(run(stack, "create", sid))
    with case.serve() as url:
        args = ["send-and-wait", sid, "c", "Hello?", "subj", "--timeout", "20"]
        started = time.monotonic()
        result = run(
            None, *args, "--message-id", "never", "--api-url", stack.api_url, "--nats-url", url
        )
        elapsed = time.monotonic() - started
    # Before: exit 4 after the whole 20 s, with a "resume with wait" for a message never sent.
    assert result.returncode == ExitCode.ERROR, result.stderr
    assert elapsed < case.bound + 2  # the interpreter's start and the REST calls
    assert_one_error_line(result.stderr, case.error.__name__, host_of(url))
    assert WRONG_TOKEN not in result.stderr
    missing = run(stack, "get", sid, "--message-id", "never")
    assert missing.returncode == ExitCode.NOT_FOUND


def test_environment_configures_and_flags_override(stack: LocalStack, tmp_path: Path) -> None:
    env = clean_env(ORG_API_URL=stack.api_url, ORG_NATS_URL=stack.nats_url)
    assert output(run(None, "create", "cli-env", env=env))["session_id"] == "cli-env"
    # The console script, with a wrong ORG_API_URL overridden by --api-url.
    env["ORG_API_URL"] = "http://127.0.0.1:9/nothing-here"
    result = subprocess.run(
        [CONSOLE_SCRIPT, "get", "cli-env", "--api-url", stack.api_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
    )
    assert output(result)["session_id"] == "cli-env"


def test_api_token_from_file_or_environment(tmp_path: Path) -> None:
    with LocalStack(api_token="s3cret") as secured:
        unauthorized = run(secured, "list")
        assert unauthorized.returncode == ExitCode.ERROR
        assert_one_error_line(unauthorized.stderr, "AuthenticationError")
        assert "s3cret" not in unauthorized.stderr
        token_file = tmp_path / "token"
        token_file.write_text("s3cret\n")
        output(run(secured, "list", "--api-token-file", str(token_file)))
        output(run(secured, "list", env=clean_env(ORG_API_TOKEN="s3cret")))


def test_ctrl_c_while_waiting_exits_130(
    stack: LocalStack, human: SimulatedHuman, background: list[subprocess.Popen[str]]
) -> None:
    human.stay_silent_next()
    output(run(stack, "create", "cli-sigint"))
    delivered = len(human.received)
    waiting = start(stack, "send-and-wait", "cli-sigint", "c", "Anyone?", "subj", "--timeout", "60")
    background.append(waiting)
    human.wait_for_messages(delivered + 1)  # sent, so the command is now waiting on NATS
    waiting.send_signal(signal.SIGINT)
    stdout, stderr = waiting.communicate(timeout=TIMEOUT)
    assert waiting.returncode == ExitCode.INTERRUPTED
    assert stdout == ""
    assert_one_error_line(stderr, "interrupted")


def test_on_a_terminal_it_shows_the_wait_and_pretty_json(
    stack: LocalStack, human: SimulatedHuman
) -> None:
    human.answer_next({"approved": True}, delay=1.0)
    output(run(stack, "create", "cli-tty"))
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [*COMMAND, "send-and-wait", "cli-tty", "c", "Approve?", "cli.tty", *flags(stack)],
            stdout=terminal,
            stderr=terminal,
            env=clean_env(),
        )
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        os.close(controller)
    text = seen.decode()
    assert "waiting for the human on sessions.responses.cli.tty" in text
    assert '\n  "response": {' in text.replace("\r\n", "\n")


def test_dev_runs_the_local_stack_until_ctrl_c(background: list[subprocess.Popen[str]]) -> None:
    dev = subprocess.Popen(
        [CONSOLE_SCRIPT, "dev", "--auto-respond", '{"ok": 1}'],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    background.append(dev)
    assert dev.stdout is not None
    urls = json.loads(dev.stdout.readline())
    env = clean_env(ORG_API_URL=urls["api_url"], ORG_NATS_URL=urls["nats_url"])
    output(run(None, "create", "cli-dev", env=env))
    answer = output(run(None, "send-and-wait", "cli-dev", "c", "Works?", "dev", env=env))
    assert answer["response"] == {"ok": 1}
    dev.send_signal(signal.SIGINT)
    dev.communicate(timeout=TIMEOUT)
    assert dev.returncode == 0


def test_help_lists_the_exit_codes() -> None:
    result = subprocess.run([CONSOLE_SCRIPT, "--help"], capture_output=True, text=True, check=True)
    for code in ExitCode:
        assert f"  {code.value} " in result.stdout


def test_connection_options_go_before_the_command_too(stack: LocalStack) -> None:
    result = subprocess.run(
        [CONSOLE_SCRIPT, *flags(stack), "--verbose", "create", "cli-before"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=TIMEOUT,
    )
    assert output(result)["session_id"] == "cli-before"
    # After the command, it wins over the one before.
    wrong = ["--api-url", "http://127.0.0.1:9/nothing-here"]
    after = run(None, *wrong, "get", "cli-before", "--api-url", stack.api_url)
    assert output(after)["session_id"] == "cli-before"


def test_the_token_file_before_the_command_is_sent(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    with LocalStack(api_token="s3cret") as secured:
        output(run(None, *flags(secured), "--api-token-file", str(token_file), "list"))


def test_version() -> None:
    result = subprocess.run(
        [CONSOLE_SCRIPT, "--version"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0
    assert result.stdout == f"session-client {session_client.__version__}\n"


def test_every_positional_argument_has_help() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    positionals = {
        f"{name} {action.dest}": action.help
        for name, command in commands.items()
        for action in command._actions
        if not action.option_strings
    }
    assert positionals and all(positionals.values()), positionals
    # As a user sees it.
    shown = subprocess.run(
        [CONSOLE_SCRIPT, "respond", "--help"], capture_output=True, text=True, timeout=TIMEOUT
    ).stdout
    assert "  session_id            the session's id\n" in shown


def test_a_404_from_a_base_url_that_is_not_the_api_says_so(
    stack: LocalStack, tmp_path: Path, background: list[subprocess.Popen[str]]
) -> None:
    # A wrong base path: the API answers 404 to an operation that never answers 404.
    wrong_path = run(None, "create", "cli-wrong-url", "--api-url", f"{stack.api_url}/api/v1")
    # A web server that is not the API: a 404 without the contract's Problem body.
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    background.append(web)
    wait_for_port(port)
    not_the_api = run(None, "get", "cli-wrong-url", "--api-url", f"http://127.0.0.1:{port}")
    for result, url in ((wrong_path, f"{stack.api_url}/api/v1"), (not_the_api, f":{port}")):
        assert result.returncode == ExitCode.ERROR
        assert_one_error_line(result.stderr, "error", url, "does not look like the session API")
        assert "does not exist" not in result.stderr


def test_send_and_wait_with_a_response_schema_and_the_record(
    stack: LocalStack, human: SimulatedHuman, tmp_path: Path
) -> None:
    schema = {
        "type": "object",
        "required": ["approved", "amount"],
        "properties": {"approved": {"type": "boolean"}, "amount": {"type": "number", "default": 9}},
    }
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    assert run(stack, "create", "cli-typed", "--subject-id", "cli").returncode == 0
    for given in (str(schema_file), json.dumps(schema)):
        done = run(stack, "send-and-wait", "cli-typed", "c", "Refund?", "cli", "--timeout", "10",
                   "--response-schema", given)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["response"] == {"approved": True, "amount": 9}
    refused = run(stack, "send", "cli-typed", "c", "m", "--response-schema", '{"type": "string"}')
    assert refused.returncode == ExitCode.USAGE and "response_schema" in refused.stderr

    human.stay_silent()
    sent = json.loads(run(stack, "send", "cli-typed", "c", "Yes?", "--response-schema",
                          str(schema_file)).stdout)  # fmt: skip
    answer = '{"approved": true, "amount": 3}'
    assert run(stack, "respond", "cli-typed", sent["message_id"], answer,
               "--responded-by", "carol").returncode == 0  # fmt: skip
    record = run(stack, "messages", "cli-typed")
    assert record.returncode == 0, record.stderr
    messages = json.loads(record.stdout)
    assert [m["state"] for m in messages] == ["ANSWERED", "ANSWERED", "ANSWERED"]
    assert all(m["response_schema"] == schema for m in messages)
    assert (messages[-1]["response"], messages[-1]["responded_by"]) == (
        {"approved": True, "amount": 3},
        "carol",
    )
