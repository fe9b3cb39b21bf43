"""Fidelity of the reference server: schemathesis, with every check, finds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from session_client.testing import LocalStack

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_schemathesis_all_checks_all_phases_against_the_reference_server(tmp_path: Path) -> None:
    with LocalStack() as stack:
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("st")),
                "run",
                str(ROOT / "openapi.yaml"),
                "--url",
                stack.api_url,
                "--checks",
                "all",
                "--max-examples",
                "25",
                "--workers",
                "1",
                "--seed",
                "20261125",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        )
    summary = result.stdout[-4000:]
    assert result.returncode == 0, summary
    assert " passed" in summary and "failure" not in summary.split("SUMMARY")[-1], summary
