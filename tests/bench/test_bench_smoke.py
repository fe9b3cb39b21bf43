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
        timeout=420,  # a shared 2-core machine under load took 120 s, before the new floors
    )
    report = (tmp_path / "BENCHMARKS.md").read_text()
    for section in (
        "## Targets",
        "## Round trips",
        "## Telemetry",
        "## Memory per pending wait",
        "## Many processes on one subject",
        "## Cold start",
        "## Where the CPU goes, by library",
        "## Consumer groups",
    ):
        assert section in report
    for variant in ("| floor-httpx |", "| async |", "| sync |", "| off |", "| api |", "| sdk |"):
        assert variant in report
    section = report.split("## Round trips")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line[2:3].isdigit()]
    variants = (
        "floor-bare",
        "floor-aiohttp",
        "floor-httpx",
        "floor-httpx2",
        "async",
        "async-aiohttp",
        "async-httpx2",
        "sync",
    )
    # Every variant at both concurrencies, and no answer lost.
    assert sorted(line.split(" | ")[1] for line in rows) == sorted(variants * 2)
    assert all(line.endswith(" | 0 |") for line in rows)
    for target in (
        "| async-aiohttp CPU/op at x1 <= 1.2x floor-aiohttp |",
        "| async-aiohttp CPU/op at x1 <= 2.0x floor-bare |",
        "| async CPU/op at x1 <= 1.2x floor-httpx |",
        "| async-httpx2 CPU/op at x1 <= 1.2x floor-httpx2 |",
        "| async p50 at x1 <= 1.2x floor-httpx |",
        "| sync CPU/op at x1 <= 1.15x async |",
        "| 0 answers lost (every round trip of every variant) | 0 lost of",
        "| responses() CPU per handled answer, 4 worker(s) <= 1.2x JetStream pull floor |",
        "| max_in_flight=1, 20 ms of I/O per answer: throughput of 4 workers >= 3x 1 worker |",
    ):
        assert target in report
    consumers = report.split("## Consumer groups")[1].split("\n## ")[0]
    # Both consumers at every worker count, each handling every answer put in the stream.
    for kind in ("floor", "library"):
        for workers in (1, 2, 4):
            assert f"| {kind} | {workers} | 500 |" in consumers
    by_library = report.split("## Where the CPU goes, by library")[1].split("\n## ")[0]
    assert "| library | " + " | ".join(variants) + " |" in by_library
    for library in (
        "| aiohttp |",
        "| httpx |",
        "| httpx2 |",
        "| nats |",
        "| session_client |",
        "| asyncio |",
    ):
        assert library in by_library
    assert "50 answered" in report  # every pending wait got its own answer
    assert "| telemetry hooks with no SDK <= 2% of async CPU/op" in report
    scale = report.split("## Many processes on one subject")[1].split("\n## ")[0]
    # Every client of the scale scenario: each of its waits got its own answer.
    for client in ("| per-session | async |", "| per-session | floor-httpx |"):
        assert f"{client} 2 | 20 of 20 |" in scale
    assert "| per-session | floor-bare | 1 | 20 of 20 |" in scale
    assert "| subject-wide | async | 2 | 20 of 20 |" in scale
    for plot in ("benchmarks.png", "benchmarks-scale.png"):
        assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG")
