"""The README's Quickstart as a new user runs it: step 0 (``session-client dev --port 8000``)
in one terminal, then the seed's code verbatim in another - no ``ORG_*`` variable, the clients'
default NATS URL (``nats://127.0.0.1:4222``).

Each test runs in a network namespace of its own (``unshare --net``, as root), where ports 8000
and 4222 are free whatever else runs on the machine, and the code can use them as written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_readme import Block, readme_blocks

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None,
        reason="needs root, unshare and ip for a network namespace",
    ),
]

TIMEOUT = 120
# Starts the stack in the background, waits for its JSON line, runs "$@", then stops the stack
# (and whatever else it started).
DRIVER = """
set -euo pipefail
trap 'kill $(jobs -p) 2> /dev/null || true' EXIT
ip link set lo up
{dev} > dev.out 2> dev.err &
dev=$!
for _ in $(seq 300); do [ -s dev.out ] && break; sleep 0.1; done
"$@"
status=$?
kill -INT $dev; wait $dev
exit $status
"""


def quickstart() -> list[Block]:
    """The blocks of the README's Quickstart section, in order."""
    text = Path(__file__).resolve().parents[2].joinpath("README.md").read_text().splitlines()
    start = text.index("## Quickstart") + 1
    end = next(n for n in range(start, len(text)) if text[n].startswith("## "))
    return [block for block in readme_blocks() if start < block.line <= end]


def run_in_own_network(dev: str, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Start ``dev`` (a shell command) and then run ``argv``, in a new network namespace."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORG_")}
    # The venv's session-client console script comes first, as in an activated venv.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["unshare", "--net", "--", "bash", "-c", DRIVER.format(dev=dev), "driver", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_step_0_then_the_seed_s_code_runs_verbatim(tmp_path: Path) -> None:
    blocks = quickstart()
    (step_0,) = (block for block in blocks if block.kind == "sh terminal")
    assert blocks[0] is step_0, "the Quickstart starts with step 0"
    assert step_0.code.strip() == "session-client dev --port 8000"
    seed = "\n".join(block.code for block in blocks if block.kind == "python")
    (tmp_path / "seed.py").write_text(seed)
    result = run_in_own_network(step_0.code.strip(), tmp_path, sys.executable, "seed.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Received response: {" in result.stdout
    assert "Error waiting for response" not in result.stdout
    urls = json.loads((tmp_path / "dev.out").read_text())
    assert urls["nats_url"] == "nats://127.0.0.1:4222"
    assert urls["api_url"] == "http://127.0.0.1:8000"


def test_dev_says_so_when_4222_is_taken_and_takes_another(tmp_path: Path) -> None:
    hold = "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 4222)); s.listen(); "
    holder = f'{sys.executable} -c "{hold}time.sleep(60)" & sleep 1; session-client dev'
    result = run_in_own_network(holder, tmp_path, "true")
    assert result.returncode == 0, result.stdout + result.stderr
    urls = json.loads((tmp_path / "dev.out").read_text())
    assert urls["nats_url"].startswith("nats://127.0.0.1:")
    assert not urls["nats_url"].endswith(":4222")
    assert "NATS port 4222 is in use" in (tmp_path / "dev.err").read_text()


def test_dev_listens_on_the_nats_port_given(tmp_path: Path) -> None:
    result = run_in_own_network("session-client dev --nats-port 4333", tmp_path, "true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "dev.out").read_text())["nats_url"] == "nats://127.0.0.1:4333"
