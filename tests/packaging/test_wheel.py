"""The wheel as a new user gets it: built from this checkout, installed into a fresh virtual
environment with only the runtime dependencies, then type-checked against and run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from session_client.testing import LocalStack
from tests.integration.test_seed_examples import EXAMPLES, assert_examples_ran

pytestmark = pytest.mark.integration

CHECKOUT = Path(__file__).resolve().parents[2]
# Building and installing take a few seconds with pip's cache, longer on a cold one.
INSTALL_TIMEOUT = 300

USER_CODE = """
from session_client import AsyncSessionClient, ResponseTimeoutError, SessionClient
from session_client.types import ResponsePayload


def ask(client: SessionClient) -> ResponsePayload:
    client.create_session("s1", subject_id="subj")
    return client.send_and_wait_for_response("s1", "chan", "Approve?", "subj", timeout=5)


async def resume(client: AsyncSessionClient, message_id: str) -> bool:
    try:
        answer = await client.wait_for_response("s1", "subj", message_id, timeout=5)
    except ResponseTimeoutError as exc:
        return exc.message_id == message_id
    return bool(answer["response"])
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout (built offline: the build backend is in the dev venv)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"),
            *("--no-build-isolation", "--wheel-dir", str(out), str(CHECKOUT)),
        ],
        check=True,
        timeout=INSTALL_TIMEOUT,
    )
    (built,) = out.glob("session_client_lib-*.whl")
    return built


@pytest.fixture(scope="module")
def user_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The python of a fresh venv with the wheel and its runtime dependencies only."""
    env_dir = tmp_path_factory.mktemp("user-venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # This venv's pip installs into the new one (pip --python), which saves bootstrapping pip.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(wheel)],
        check=True,
        timeout=INSTALL_TIMEOUT,
    )
    yield python


def test_the_wheel_holds_only_its_own_package_and_marks_it_typed(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"session_client", "session_client_lib-0.1.0.dist-info"}
    assert "session_client/py.typed" in names
    assert "session_client/_session_api/client.py" in names  # the generated layer, inside


def test_user_code_type_checks_strictly_against_the_installed_wheel(
    user_python: Path, tmp_path: Path
) -> None:
    (tmp_path / "user.py").write_text(USER_CODE)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--strict", "--python-executable", str(user_python)),
            *("--cache-dir", str(tmp_path / "cache"), "user.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_installed_library_brings_no_session_api_and_works_without_the_extra(
    user_python: Path, tmp_path: Path
) -> None:
    check = "import importlib.util as u, session_client; print(u.find_spec('session_api'))"
    result = subprocess.run(
        [str(user_python), "-c", check], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.stdout.strip() == "None", result.stderr


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_documentation_s_examples_run_on_the_installed_wheel(
    user_python: Path, tmp_path: Path
) -> None:
    if not _port_free(8000):
        pytest.skip("the examples use http://localhost:8000, which is taken on this machine")
    script = tmp_path / "examples.py"
    script.write_text("\n".join(EXAMPLES) + "\nclient.close()\n")
    with LocalStack(port=8000, auto_respond={"details": "confirmed"}) as stack:
        env = {"PATH": os.environ["PATH"], "ORG_NATS_URL": stack.nats_url}
        result = subprocess.run(
            [str(user_python), str(script)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert_examples_ran(result.stdout)
    assert result.stderr == ""


def test_the_local_stack_without_the_testing_extra_says_what_to_install(
    user_python: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [str(user_python), "-m", "session_client.testing", "serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert "pip install 'session_client_lib[testing]'" in result.stderr
    assert result.stdout == ""
