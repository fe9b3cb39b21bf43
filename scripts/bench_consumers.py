"""``make bench``'s consumer groups (issue 28): ``responses()`` against its floor.

Answers are put into the stream first (published as the server does), then 1, 2 or 4 worker
processes of one group drain them: throughput (handled answers per second, first to last) and
client CPU per handled answer, for the library and for the hand-written nats-py pull consumer
of ``bench_floors``; and, with ``max_in_flight=1`` and a handler waiting 20 ms on I/O per
answer, how throughput grows with the workers (the work is shared, not serialised).
``scripts/bench.py --consumers-only`` runs this part alone.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IDLE = 1.0


async def _library_worker(spec: dict[str, Any]) -> tuple[int, float, float, float, float]:
    from session_client import Answered, AsyncSessionClient

    handled, first, last = 0, (0.0, 0.0), (0.0, 0.0)
    async with AsyncSessionClient(spec["api_url"], [spec["nats_url"]]) as client:

        async def close_when_idle() -> None:  # no per-item timer: the floor has none either
            seen = -1
            while seen != handled:
                seen = handled
                await asyncio.sleep(IDLE)
            await client.aclose()  # ends the loop

        watchdog = asyncio.create_task(close_when_idle())
        async for item in client.responses(
            spec["subject_id"], group=spec["group"], max_in_flight=spec["batch"]
        ):
            if handled == 0:
                first = (time.process_time(), time.time())
            if spec["io"]:
                await asyncio.sleep(spec["io"])
            assert isinstance(item, Answered) and item.key
            handled += 1
            last = (time.process_time(), time.time())
        await watchdog
    return handled, *first, *last


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One worker process: drain the group; what it handled, and its CPU and wall times."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_floors import jetstream_pull_floor

    if spec["kind"] == "library":
        run = _library_worker(spec)
    else:
        subject = f"sessions.responses.{spec['subject_id']}.*"
        run = jetstream_pull_floor(
            spec["nats_url"], subject, spec["group"], spec["batch"], spec["io"], IDLE
        )
    handled, cpu0, wall0, cpu1, wall1 = asyncio.run(run)
    return {"handled": handled, "cpu": cpu1 - cpu0, "first": wall0, "last": wall1}


async def _publish(nats_url: str, subject_id: str, count: int) -> None:
    """``count`` answers on ``subject_id``'s session subjects, through the stream."""
    import nats

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for n in range(count):
        payload = {
            "session_id": f"s{n % 50}",
            "message_id": f"{subject_id}-{n}",
            "channel_id": "bench",
            "subject_id": subject_id,
            "response": {"approved": True},
            "responded_at": "2026-01-01T00:00:00Z",
        }
        await js.publish(
            f"sessions.responses.{subject_id}.s{n % 50}",
            json.dumps(payload).encode(),
            headers={"Nats-Msg-Id": f"{subject_id}-{n}"},
        )
    await nc.close()


def run(stack: Any, kind: str, workers: int, count: int, batch: int, io: float) -> dict[str, Any]:
    """Publish ``count`` answers on a subject of their own, drain them with ``workers``
    processes of a new group."""
    tag = f"{kind}-{workers}-{batch}-{time.monotonic_ns()}"
    asyncio.run(_publish(stack.nats_url, tag, count))
    spec = {
        "kind": kind,
        "api_url": stack.api_url,
        "nats_url": stack.nats_url,
        "subject_id": tag,
        "group": tag,
        "batch": batch,
        "io": io,
    }
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "worker", json.dumps(spec)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        for _ in range(workers)
    ]
    results = [json.loads(p.communicate(timeout=600)[0]) for p in processes]
    handled = sum(r["handled"] for r in results)
    busy = [r for r in results if r["handled"]]
    seconds = max(r["last"] for r in busy) - min(r["first"] for r in busy)
    return {
        "kind": kind,
        "workers": workers,
        "handled": handled,
        "per_second": handled / seconds if seconds > 0 else float("inf"),
        "cpu_us": 1e6 * sum(r["cpu"] for r in results) / handled,
    }


WORKERS = (1, 2, 4)


def measure(repeats: int, count: int = 5000, io_count: int = 400) -> dict[str, Any]:
    """Every measurement of this part, ``repeats`` times (floor and library alternating within
    a repeat, so each ratio is taken within one repeat): raw rows for :func:`report`."""
    from session_client.testing import LocalStack

    data: dict[str, Any] = {"runs": [], "shared": []}
    with LocalStack(respond_delay=0.0) as stack:
        for repeat in range(repeats):
            for workers in WORKERS:
                kinds = ("floor", "library") if repeat % 2 == 0 else ("library", "floor")
                for kind in kinds:
                    row = run(stack, kind, workers, count, 32, 0.0)
                    data["runs"].append({"repeat": repeat, **row})
            for workers in (1, 4):
                row = run(stack, "library", workers, io_count, 1, 0.020)
                data["shared"].append({"repeat": repeat, **row})
    return data


def _median_ratio(pairs: list[tuple[float, float]]) -> float:
    return statistics.median(mine / theirs for mine, theirs in pairs)


def cpu_ratios(data: dict[str, Any]) -> dict[int, float]:
    """Library / floor CPU per handled answer at each worker count: the median of the
    per-repeat ratios."""
    cpu = {(r["repeat"], r["kind"], r["workers"]): r["cpu_us"] for r in data["runs"]}
    repeats = {r["repeat"] for r in data["runs"]}
    return {
        w: _median_ratio([(cpu[n, "library", w], cpu[n, "floor", w]) for n in repeats])
        for w in WORKERS
    }


def sharing(data: dict[str, Any]) -> float:
    """Throughput of 4 workers over 1 (``max_in_flight=1``, 20 ms of I/O per answer): the
    median of the per-repeat ratios."""
    rate = {(r["repeat"], r["workers"]): r["per_second"] for r in data["shared"]}
    repeats = {r["repeat"] for r in data["shared"]}
    return _median_ratio([(rate[n, 4], rate[n, 1]) for n in repeats])


def target_lines(data: dict[str, Any]) -> list[str]:
    """The consumer targets of issue 28, as rows of ``BENCHMARKS.md``'s targets table."""
    lines = []
    for workers, ratio in cpu_ratios(data).items():
        verdict = "met" if ratio <= 1.2 else "**missed**"
        lines.append(
            f"| responses() CPU per handled answer, {workers} worker(s) <= 1.2x JetStream pull "
            f"floor | {ratio:.2f}x | {verdict} |"
        )
    speedup = sharing(data)
    verdict = "met" if speedup >= 3 else "**missed**"
    lines.append(
        "| max_in_flight=1, 20 ms of I/O per answer: throughput of 4 workers >= 3x 1 worker | "
        f"{speedup:.2f}x | {verdict} |"
    )
    return lines


def report(data: dict[str, Any]) -> list[str]:
    """The section of ``BENCHMARKS.md``: medians over the repeats."""
    repeats = len({r["repeat"] for r in data["runs"]})
    lines = [
        "",
        "## Consumer groups",
        "",
        __doc__.split("\n\n")[1].replace("\n", " ").strip(),
        f"Medians of {repeats} repeats; a ratio is the median of the per-repeat ratios.",
        "",
        "| variant | workers | handled | answers/s | client CPU per answer (us) |",
        "|---|---:|---:|---:|---:|",
    ]
    for workers in WORKERS:
        for kind in ("floor", "library"):
            rows = [r for r in data["runs"] if r["kind"] == kind and r["workers"] == workers]
            lines.append(
                f"| {kind} | {workers} | {min(r['handled'] for r in rows)} | "
                f"{statistics.median(r['per_second'] for r in rows):.0f} | "
                f"{statistics.median(r['cpu_us'] for r in rows):.1f} |"
            )
    ratios = cpu_ratios(data)
    rates = {
        w: statistics.median(r["per_second"] for r in data["shared"] if r["workers"] == w)
        for w in (1, 4)
    }
    lines += [
        "",
        "CPU per handled answer, library / floor: "
        + ", ".join(f"{w} worker(s) {r:.2f}x" for w, r in ratios.items()),
        f"max_in_flight=1, 20 ms of I/O per answer: 1 worker {rates[1]:.0f}/s, 4 workers "
        f"{rates[4]:.0f}/s: {sharing(data):.2f}x",
    ]
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        print(json.dumps(worker(json.loads(sys.argv[2]))))
    else:
        print("\n".join(report(measure(1))))
