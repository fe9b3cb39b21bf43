"""A tiny run of the benchmark harness (``make bench``), so it cannot rot.

Speed is proven by ``make bench`` only; this checks that every measurement still runs and the
report and plot are written, not how fast anything is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_smoke_run_writes_the_report_and_the_plot(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--smoke", "--out-dir", str(tmp_path)],
        check=True,
        timeout=300,  # a shared 2-core machine under load took 120 s
    )
    report = (tmp_path / "BENCHMARKS.md").read_text()
    for section in (
        "## Targets",
        "## Round trips",
        "## Telemetry",
        "## Memory per pending wait",
        "## Many processes on one subject",
        "## Cold start",
    ):
        assert section in report
    for variant in ("| floor |", "| async |", "| sync |", "| off |", "| api |", "| sdk |"):
        assert variant in report
    assert "50 answered" in report  # every pending wait got its own answer
    assert "| telemetry hooks with no SDK <= 2% of async CPU/op" in report
    assert "20 of 20" in report  # every wait of the scale scenario got its own answer
    for plot in ("benchmarks.png", "benchmarks-scale.png"):
        assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG")
