"""Every code block of README.md runs against a local stack, so the documentation cannot rot.

Block kinds, by the fence's info string:

- ``python``: run in order in one namespace, like a reader going top to bottom.
- ``python pytest``: a user's test file, run by pytest in a subprocess (with our plugin).
- ``sh``: run by bash (``set -euo pipefail``) with the ``session-client`` command on ``PATH``.
  ``make`` runs as ``make -n`` (dry run): it proves the documented targets exist, where running
  ``make test`` from inside the test suite would recurse.
- ``sh terminal``: what a user types in a terminal of their own - the Quickstart's step 0, run
  by tests/integration/test_quickstart.py; installing, checked by tests/packaging/test_dist.py.

``http://localhost:8000`` in a block stands for the stack's API URL (that port may be taken on a
shared machine); ``ORG_NATS_URL`` points at the stack's NATS server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from session_client.testing import LocalStack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCUMENTED_URL = "http://localhost:8000"
KINDS = ("python", "python pytest", "sh", "sh terminal", "toml")
_FENCE = re.compile(r"^```(.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    kind: str
    line: int
    code: str

    def for_stack(self, stack: LocalStack) -> str:
        """The code, pointed at ``stack`` instead of the documented URL."""
        return self.code.replace(DOCUMENTED_URL, stack.api_url)


def readme_blocks() -> list[Block]:
    """The fenced code blocks of README.md, in order."""
    blocks: list[Block] = []
    kind: str | None = None
    start, lines = 0, []
    for number, text in enumerate(README.read_text().splitlines(), start=1):
        fence = _FENCE.match(text)
        if kind is None and fence is not None:
            kind, start, lines = fence.group(1).strip(), number, []
        elif kind is not None and text == "```":
            blocks.append(Block(kind, start, "\n".join(lines) + "\n"))
            kind = None
        elif kind is not None:
            lines.append(text)
    assert kind is None, f"README.md: the block at line {start} is not closed"
    return blocks


def blocks_of(kind: str) -> list[Block]:
    found = [block for block in readme_blocks() if block.kind == kind]
    assert found, f"README.md has no {kind!r} block"
    return found


def test_every_block_is_of_a_runnable_kind() -> None:
    for block in readme_blocks():
        assert block.kind in KINDS, (
            f"README.md line {block.line}: block kind {block.kind!r} is not run by the tests; "
            f"use one of {KINDS}"
        )


@pytest.mark.fresh_session_stack()
def test_python_blocks(session_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORG_NATS_URL", session_stack.nats_url)
    monkeypatch.delenv("ORG_API_TOKEN", raising=False)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for block in blocks_of("python"):
        code = compile(
            block.for_stack(session_stack), f"README.md, block at line {block.line}", "exec"
        )
        exec(code, namespace)
    # The seed's example catches every exception: make sure it really got the answer.
    assert namespace["response"]["response"] == {"approved": True}  # type: ignore[index]


def test_pytest_blocks(pytester: pytest.Pytester) -> None:
    for block in blocks_of("python pytest"):
        pytester.makepyfile(**{f"test_readme_line_{block.line}": block.code})
    # The README's configuration for a user's project (pytest-asyncio in its strict mode).
    (configuration,) = blocks_of("toml")
    pytester.makepyprojecttoml(configuration.code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=240)
    result.assert_outcomes(passed=5)
    output = result.stdout.str() + result.stderr.str()
    assert '"asyncio_default_fixture_loop_scope" is unset' not in output


@pytest.mark.fresh_session_stack()
def test_shell_blocks(session_stack: LocalStack) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORG_")}
    env["ORG_NATS_URL"] = session_stack.nats_url
    # The venv's python and session-client console script come first.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    prelude = 'set -euo pipefail\nmake() { command make -n "$@" > /dev/null; }\n'
    for block in blocks_of("sh"):
        # Its own process group, so whatever the block starts can be stopped with it.
        process = subprocess.Popen(
            ["bash", "-c", prelude + block.for_stack(session_stack)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        assert process.returncode == 0, f"README.md, block at line {block.line}:\n{output}"


def test_the_pydantic_example_is_mypy_strict_clean(tmp_path: Path) -> None:
    (block,) = [block for block in blocks_of("python") if "(BaseModel)" in block.code]
    (tmp_path / "example.py").write_text(
        block.code + 'reveal_type(answer["response"])\n', encoding="utf-8"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "c"),
            "example.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The answer's response is typed as the model, not as a dict.
    assert 'Revealed type is "example.RefundDecision"' in result.stdout
