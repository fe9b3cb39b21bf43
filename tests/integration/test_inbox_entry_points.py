"""Where developers reach the inbox: ``session-client dev --inbox`` and ``pytest --session-inbox``.

``$BROWSER`` points at a script that records the URL it is asked to open, as a browser would
be opened (``webbrowser`` honours it).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from session_client.cli.exit_codes import ExitCode

from .test_cli import CONSOLE_SCRIPT, TIMEOUT, clean_env, run

pytestmark = pytest.mark.integration


def recording_browser(directory: Path) -> tuple[Path, Path]:
    """A ``$BROWSER`` that writes the URL it opens to the returned file."""
    opened, script = directory / "opened", directory / "browser"
    script.write_text(f'#!/bin/sh\nprintf %s "$1" > "{opened}"\n')
    script.chmod(0o755)
    return script, opened


def read_when_written(path: Path) -> str:
    deadline = time.monotonic() + TIMEOUT
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.05)
    return path.read_text()


def test_dev_inbox_opens_the_page_and_leaves_the_answer_to_you(tmp_path: Path) -> None:
    browser, opened = recording_browser(tmp_path)
    dev = subprocess.Popen(
        [CONSOLE_SCRIPT, "dev", "--inbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(BROWSER=str(browser)),
    )
    try:
        assert dev.stdout is not None
        urls = json.loads(dev.stdout.readline())
        assert urls["inbox_url"] == urls["api_url"] + "/_inbox/"
        assert read_when_written(opened) == urls["inbox_url"]
        assert httpx.get(urls["inbox_url"]).status_code == 200
        env = clean_env(ORG_API_URL=urls["api_url"], ORG_NATS_URL=urls["nats_url"])
        assert run(None, "create", "inbox-dev", env=env).returncode == 0
        unanswered = run(
            None, "send-and-wait", "inbox-dev", "c", "Hi?", "dev", "--timeout", "1", env=env
        )
        assert unanswered.returncode == ExitCode.TIMED_OUT  # the simulated human stays silent
        dev.send_signal(signal.SIGINT)
        _, stderr = dev.communicate(timeout=TIMEOUT)
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.communicate(timeout=TIMEOUT)
    assert dev.returncode == 0
    assert f"inbox: answer as the human at {urls['inbox_url']}" in stderr


SUITE = """
import httpx
import pytest
from session_client import ResponseTimeoutError


@pytest.mark.parametrize("attempt", [1, 2])  # also after the human's reset between tests
def test_nobody_but_the_page_answers(session_stack, session_client, attempt):
    assert httpx.get(session_stack.inbox_url).status_code == 200
    session_client.create_session(f"plugin-inbox-{attempt}")
    with pytest.raises(ResponseTimeoutError):
        session_client.send_and_wait_for_response(
            f"plugin-inbox-{attempt}", "c", "Hi?", "s", timeout=0.5
        )
"""


def test_the_pytest_plugin_opens_the_inbox_of_the_shared_stack(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    browser, opened = recording_browser(tmp_path)
    monkeypatch.setenv("BROWSER", str(browser))
    pytester.makepyfile(test_inbox_suite=SUITE)
    result = pytester.runpytest_subprocess("--session-inbox", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    url = read_when_written(opened)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/_inbox/")
    result.stdout.fnmatch_lines([f"inbox: answer as the human at {url}"])
