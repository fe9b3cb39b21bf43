"""Run the fault suite at full size and write RELIABILITY.md from what the runs measured.

``make reliability`` runs this. Every figure in the file comes from the run: the scenarios
(tests/reliability) append their figures as JSON lines, and pytest's JUnit report gives each
test's outcome.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "RELIABILITY.md"

DEFINITIONS = """\
What the columns mean:

- **Expected**: waits that should each return their own answer (scenarios 1, 2, 4, 8); API
  operations (3); calls (5, 6, 11, 13); texts checked (7a); end-to-end TLS round trips (7b, 7c);
  oversized responses (12); SIGKILLed holders of a local stack (14); retried answers after a
  server SIGKILL (17); answers after one NATS or its stream can never take (18).
- **Delivered**: waits that returned exactly their own answer (the human echoes each question,
  so a misrouted or forged answer does not count); operations that succeeded within
  `max_retries`; calls that ended in a documented outcome within their timeout; waits that
  ended as intended (answered / timed out / cancelled / REST error) with nothing left behind;
  texts free of the secret; calls that raised `APITimeoutError` within `bound_s` (11);
  responses refused with `APIResponseTooLargeError` while the client's peak RSS grew by less
  than 64 MiB (12); sends to a misconfigured NATS that raised `NatsUnavailableError`
  (`NatsAuthenticationError` for a wrong token) within `bound_s` and sent nothing, where
  `before_s` is the 20.1 s issue 26 measured (13); holders whose nats-server and directory were
  gone within `bound_s` of the SIGKILL (14); retries answered 200 with the stored answer (17);
  later answers that reached NATS in order while the unpublishable ones went to the dead
  letters (18).
- **Duplicated**: answers returned to more than one wait (1, 2, 4, 8); extra messages or
  sessions in the server's own records (3).
- **rest_requests** (8): the waiting client's REST requests from the kill until every wait was
  answered; `per_wait` divides them by the pending waits; `before_per_wait` is what the same
  scenario cost before recovery went per subject (issue 12: 6.15 per wait).
- **rss_growth_mb** (12): the client process's peak RSS during the call minus its RSS just
  before (after a warm-up call); `before_growth_mb` is the same scenario on the code before
  `max_response_bytes` (base commit 0daff33), `before_s` (11) the 102 s issue 17 measured.
- **Wrong**: waits that returned an answer that was not theirs.
"""


def machine() -> list[str]:
    """What ran the suite."""
    from session_client.testing.nats_server import find_nats_server_binary

    nats_version = subprocess.run(
        [find_nats_server_binary(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split()[1])
        memory = f", {total_kb / 1024 / 1024:.1f} GiB RAM"
    return [
        f"- Machine: {platform.platform()}, {os.cpu_count()} CPUs{memory}",
        f"- Python {platform.python_version()}, {nats_version}",
    ]


def outcomes(junit: Path) -> dict[str, str]:
    """Test node id -> passed / failed / skipped, from pytest's JUnit XML."""
    results: dict[str, str] = {}
    if not junit.exists():
        return results
    for case in ET.parse(junit).getroot().iter("testcase"):
        path = case.get("classname", "").replace(".", "/")
        nodeid = f"{path}.py::{case.get('name')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        results[nodeid] = (
            "failed" if failed else "skipped" if case.find("skipped") is not None else "passed"
        )
    return results


def cell(value: Any) -> str:
    """A table cell: dicts and lists as compact JSON, absent values as a dash."""
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": ")).replace("|", "\\|")
    return str(value)


def scenario_order(row: dict[str, Any]) -> tuple[int, str]:
    """Scenarios by number ("10." after "9."), then by name."""
    name = str(row["scenario"])
    number = name.split(".", 1)[0].rstrip("abcdefghijklmnopqrstuvwxyz")
    return (int(number) if number.isdigit() else 0, name)


def table(rows: list[dict[str, Any]], results: dict[str, str]) -> list[str]:
    """The figures as a markdown table, one row per scenario."""
    lines = [
        "| Scenario | Expected | Delivered | Duplicated | Wrong | Result | Seconds | Details |",
        "|---|---|---|---|---|---|---|---|",
    ]
    shown = {"scenario", "test", "expected", "delivered", "duplicated", "wrong", "seconds"}
    for row in sorted(rows, key=scenario_order):
        test = row.get("test")
        if test is not None:
            result = results.get(test, "not run")
        else:  # a whole module's figure: its tests' outcomes
            module = str(row.get("module", ""))
            module_results = {v for k, v in results.items() if k.startswith(module)}
            result = "failed" if "failed" in module_results else "passed"
        details = "; ".join(f"{k}: {cell(v)}" for k, v in row.items() if k not in shown)
        lines.append(
            f"| {row['scenario']} | {cell(row.get('expected'))} | {cell(row.get('delivered'))} "
            f"| {cell(row.get('duplicated'))} | {cell(row.get('wrong'))} | {result} "
            f"| {cell(row.get('seconds'))} | {details} |"
        )
    return lines


def main() -> int:
    """Run the suite at full size, write RELIABILITY.md, exit with pytest's status."""
    with tempfile.TemporaryDirectory() as tmp:
        report, junit = Path(tmp) / "figures.jsonl", Path(tmp) / "junit.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-m",
            "reliability",
            "-o",
            "timeout=900",
            f"--junitxml={junit}",
            "tests/reliability",
        ]
        env = {**os.environ, "RELIABILITY_FULL": "1", "RELIABILITY_REPORT": str(report)}
        started = time.monotonic()
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)
        elapsed = time.monotonic() - started
        rows = (
            [json.loads(line) for line in report.read_text().splitlines()]
            if report.exists()
            else []
        )
        results = outcomes(junit)
    passed = sum(outcome == "passed" for outcome in results.values())
    shown_command = "RELIABILITY_FULL=1 " + " ".join(
        ["python", *command[1:-2], "--junitxml=<tmp>", command[-1]]
    )
    lines = [
        "# Reliability",
        "",
        "Generated by `make reliability` (scripts/reliability.py) from the full-size run of the",
        "fault suite in `tests/reliability` (issue 5); `make test` runs the same scenarios small.",
        "",
        f"- Run: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}, {elapsed:.0f} s, "
        f"pytest exit status {result.returncode}, {passed} of {len(results)} tests passed",
        f"- Command: `{shown_command}`",
        *machine(),
        "",
        *table(rows, results),
        "",
        DEFINITIONS,
    ]
    OUTPUT.write_text("\n".join(lines))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
