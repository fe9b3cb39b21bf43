"""``make demo`` installs what a user installs, not the dev toolchain."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_installs_only_the_library_and_its_testing_extra() -> None:
    # -n prints the commands without running them; -B as on a fresh machine (nothing built yet).
    plan = subprocess.run(
        ["make", "-n", "-B", "demo"],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        # As typed in a shell: under `make test` the outer make's flags would print its
        # "Entering/Leaving directory" lines into the plan.
        env={k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}},
    ).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line]
    assert installs, plan
    assert all("'.[testing]'" in line for line in installs if "-e" in line), plan
    assert "[dev]" not in plan
    assert "scripts/demo.py" in plan.splitlines()[-1]
