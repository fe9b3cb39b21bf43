"""Run a target of the Makefile from a test, as a user types it in a shell."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


def run_make(target: str, **variables: str) -> None:
    """``make TARGET NAME=VALUE...`` with the toolchain of the venv running the tests."""
    if shutil.which("make") is None:
        pytest.skip("needs make")
    venv, python = Path(sys.prefix), Path(sys.executable)
    # This venv is ready: -o keeps make from reinstalling it (the stamp a venv target would
    # write), whichever of the project's venvs runs the suite.
    stamp = venv / f".installed-{python.name}"
    settings = {"VENV": str(venv), "PYTHON": str(python), **variables}
    subprocess.run(
        [
            "make",
            target,
            *(f"{name}={value}" for name, value in settings.items()),
            "-o",
            str(stamp),
        ],
        cwd=CHECKOUT,
        check=True,
        timeout=300,
        # As typed in a shell, not under an outer make.
        env={k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}},
    )
