"""``make bench``: what the library costs on top of the raw round trip it must make.

The orchestrator starts the local stack as a separate process (``python -m session_client.testing
serve``), so the reference server never shares a GIL or a CPU clock with the client being
measured. Every measurement then runs in a fresh worker process of its own (``bench.py worker``)
that reports wall time, latencies and its own CPU time (``time.process_time``). Variants:

- ``floor-bare``, ``floor-aiohttp``, ``floor-httpx``, ``floor-httpx2``: the round trip written
  by hand, with no HTTP or NATS library, and with each HTTP library the library can use and
  nats-py (see ``bench_floors.py``);
- ``async``: ``AsyncSessionClient.send_and_wait_for_response`` on its default backend, httpx;
- ``async-aiohttp``, ``async-httpx2``: the same with ``http_backend="aiohttp"`` / ``"httpx2"``;
- ``sync``: ``SessionClient.send_and_wait_for_response`` (httpx) from one thread per concurrent
  caller.

Each variant is compared with its own floor (``FLOOR_OF``): every backend with the floor on the
same HTTP library, the floors with ``floor-bare``.

The telemetry rows run ``async`` three ways, interleaved: ``off`` (OpenTelemetry not imported),
``api`` (its API imported, no SDK configured: the state of an application that has
OpenTelemetry but did not set it up) and ``sdk`` (the SDK's tracer and meter providers passed to
the client, spans to an in-memory exporter, metrics to an in-memory reader).

``concurrency`` callers each use their own session and response subject and run their operations
back to back. The scale scenario (``bench.py worker`` in ``scale`` mode, several at once) spreads
pending waits on one subject over several client processes and answers them all. Results go to
``BENCHMARKS.md``, ``benchmarks.png`` and ``benchmarks-scale.png`` (see ``--help``);
``BENCH_TRACE_TOP=1`` makes the memory runs log tracemalloc's largest allocation sites.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_consumers import measure as measure_consumers
from bench_consumers import report as consumer_report
from bench_consumers import target_lines as consumer_targets
from bench_floors import CHANNEL, FLOORS, HTTP_TIMEOUT, WAIT_TIMEOUT
from bench_profile import OTHER, Paths, by_library

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = (
    "floor-bare",
    "floor-aiohttp",
    "floor-httpx",
    "floor-httpx2",
    "async",
    "async-aiohttp",
    "async-httpx2",
    "sync",
)
# The library's variants and their backends (``http_backend=``): ``async`` and ``sync`` on the
# default, passed explicitly so that ORG_HTTP_BACKEND cannot change what is measured.
BACKEND_OF = {
    "async": "httpx",
    "async-aiohttp": "aiohttp",
    "async-httpx2": "httpx2",
    "sync": "httpx",
}
# What each variant's ratios are taken to: the floor on its HTTP library; floor-bare for floors.
FLOOR_OF = {
    "floor-aiohttp": "floor-bare",
    "floor-httpx": "floor-bare",
    "floor-httpx2": "floor-bare",
    "async": "floor-httpx",
    "async-aiohttp": "floor-aiohttp",
    "async-httpx2": "floor-httpx2",
    "sync": "floor-httpx",
}
# Measured at 1,000 callers at most, to keep ``make bench`` near an hour: 10,000 callers would
# add about three minutes for floor-bare (it runs there: ~0.4x floor-aiohttp's CPU, no answer
# lost), and httpx2 is httpx's code under another name.
UP_TO_1000 = ("floor-bare", "floor-httpx2", "async-httpx2")
# The concurrencies of the targets, and of the profiles grouped by library.
TARGET_CONCURRENCY = (1, 50)
# Issue 25's bounds on client CPU per round trip: (variant, floor, concurrencies, at most).
CPU_TARGETS = (
    ("async-aiohttp", "floor-aiohttp", TARGET_CONCURRENCY, 1.2),
    ("async-aiohttp", "floor-bare", (1,), 2.0),
    ("async", "floor-httpx", TARGET_CONCURRENCY, 1.2),
    ("async-httpx2", "floor-httpx2", TARGET_CONCURRENCY, 1.2),
)
# The variants of the flat pyinstrument profiles: the default backend and aiohttp, with floors.
PROFILED = ("floor-httpx", "async", "floor-aiohttp", "async-aiohttp")
TELEMETRY = ("off", "api", "sdk")
TELEMETRY_CONCURRENCY = (1, 100)
# Memory runs: (variant, all waits on one subject, each wait its own session). A floor with one
# subscription per wait on a shared subject would deliver every answer to every waiter, so it
# only runs with own subjects.
MEMORY_CASES = (
    ("floor-httpx", False, False),
    ("async", False, False),
    ("async-aiohttp", False, False),
    ("async", True, False),
    ("async", True, True),
)
# The scale scenario: pending waits on one subject, each its own session, over P processes.
SCALE_SUBJECT = "bench.scale"
# Servers publishing per session (asyncapi.yaml 2.0.0) or subject-wide (1.0.0, as before).
SCALE_SERVERS = ("per-session", "subject-wide")
# Clients of the scale scenario against the per-session server: the library, and the floors on
# its HTTP library and on none (what the machine itself costs as processes are added).
SCALE_CLIENTS = ("async", "floor-httpx", "floor-bare")
PAGE = os.sysconf("SC_PAGE_SIZE")


def session_id(index: int) -> str:
    """The session of caller ``index`` (created once by the orchestrator)."""
    return f"bench-{index}"


def subject_id(index: int) -> str:
    """The response subject id of caller ``index``."""
    return f"bench.c{index}"


# -- workers: one measurement per process -------------------------------------------------------


@dataclass
class Spec:
    """What a worker process measures."""

    variant: str
    concurrency: int
    ops: int
    api_url: str
    nats_url: str
    mode: str = "throughput"  # throughput | first_call | memory
    profile: str | None = None  # None | "flat" (pyinstrument) | "libraries" (cProfile)
    tracemalloc: bool = False
    shared_subject: bool = False
    telemetry: str = "off"  # off | api | sdk (see the module docstring)
    own_sessions: bool = False
    worker_index: int = 0


@dataclass
class Result:
    """What a worker process reports."""

    variant: str
    concurrency: int
    ops: int
    wall: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_call: float = 0.0
    memory: dict[str, Any] = field(default_factory=dict)
    profile: str = ""
    libraries: dict[str, float] = field(default_factory=dict)  # CPU s by library (cProfile)
    lost: int = 0  # round trips whose answer did not come within WAIT_TIMEOUT


def rss_bytes() -> int:
    """The current resident set size of this process."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def lost_answer(error: BaseException, result: Result) -> None:
    """Count a round trip whose answer timed out in ``result``; raise any other error."""
    if not isinstance(error, TimeoutError):  # the library's ResponseTimeoutError is one
        raise error
    result.lost += 1


async def _async_rounds(
    op: Callable[[int], Awaitable[Any]],
    concurrency: int,
    rounds: int,
    latencies: list[float],
    result: Result | None = None,
) -> None:
    async def caller(index: int) -> None:
        for _ in range(rounds):
            started = time.perf_counter()
            try:
                await op(index)
            except Exception as error:
                if result is None:
                    raise
                lost_answer(error, result)
                continue
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(caller(index) for index in range(concurrency)))


@contextlib.contextmanager
def measured(result: Result, profile: str | None) -> Iterator[None]:
    """Record the wall and CPU time of the block into ``result``, and its profile: a flat
    pyinstrument text or (``libraries``) cProfile's CPU self time by library."""
    profiler: Any = None
    if profile == "libraries":
        import cProfile

        # CPU, not wall time: the event loop's idle wait in epoll is not a library's cost.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    elif profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    yield
    result.wall = time.perf_counter() - wall
    result.cpu = time.process_time() - cpu
    if profile == "libraries":
        profiler.disable()
        result.libraries = libraries(profiler)
    elif profiler is not None:
        profiler.stop()
        result.profile = profiler.output_text(flat=True)


def libraries(profiler: Any) -> dict[str, float]:
    """A cProfile profile's self time summed per library."""
    import pstats
    import site
    import sysconfig

    paths = Paths(sysconfig.get_paths()["stdlib"], tuple(site.getsitepackages()), str(ROOT))
    rows = pstats.Stats(profiler).stats.items()  # type: ignore[attr-defined]
    return by_library(((name, function, row[2]) for (name, _, function), row in rows), paths)


def _warm_callers(concurrency: int) -> int:
    # Enough warm-up callers to open the HTTP connections the run will use.
    return min(concurrency, 100)


def async_caller(spec: Spec) -> tuple[Callable[[int], Awaitable[Any]], Callable[[], Any]]:
    """A floor's or ``AsyncSessionClient``'s round trip for caller ``index``, and its close."""
    if spec.variant in FLOORS:
        floor = FLOORS[spec.variant](spec.api_url, spec.nats_url)
        connected: list[bool] = []

        async def floor_op(index: int) -> Any:
            if not connected:
                connected.append(True)
                await floor.connect()
            return await floor.send_and_wait(session_id(index), subject_id(index))

        return floor_op, floor.aclose
    from session_client import AsyncSessionClient

    client = AsyncSessionClient(
        spec.api_url, [spec.nats_url], **client_options(spec), **telemetry_options(spec.telemetry)
    )

    async def client_op(index: int) -> Any:
        return await client.send_and_wait_for_response(
            session_id(index), CHANNEL, "ping", subject_id(index), timeout=WAIT_TIMEOUT
        )

    return client_op, client.aclose


def client_options(spec: Spec) -> dict[str, Any]:
    """The library client's HTTP options for ``spec``: its variant's backend, the floors'
    timeout."""
    return {"http_backend": BACKEND_OF[spec.variant], "http_timeout": HTTP_TIMEOUT}


def telemetry_options(mode: str) -> dict[str, Any]:
    """The client's OpenTelemetry set-up for a telemetry row (see the module docstring)."""
    if mode == "api":
        import opentelemetry.metrics
        import opentelemetry.trace  # noqa: F401
    if mode != "sdk":
        return {}
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def throughput_async(spec: Spec, result: Result) -> None:
    """Floor or ``AsyncSessionClient``: ``ops`` round trips by ``concurrency`` callers."""

    async def main() -> None:
        op, close = async_caller(spec)
        await op(0)  # connects
        await _async_rounds(op, _warm_callers(spec.concurrency), 2, [])
        with measured(result, spec.profile):
            rounds = spec.ops // spec.concurrency
            await _async_rounds(op, spec.concurrency, rounds, result.latencies, result)
        await close()

    asyncio.run(main())


def throughput_sync(spec: Spec, result: Result) -> None:
    """``SessionClient``: one thread per concurrent caller."""
    from session_client import SessionClient

    threading.stack_size(512 * 1024)  # 10,000 callers are 10,000 threads

    with SessionClient(spec.api_url, [spec.nats_url], **client_options(spec)) as client:

        def calls(index: int, rounds: int, start: threading.Barrier, out: list[float]) -> None:
            start.wait()
            for _ in range(rounds):
                started = time.perf_counter()
                try:
                    client.send_and_wait_for_response(
                        session_id(index), CHANNEL, "ping", subject_id(index), timeout=WAIT_TIMEOUT
                    )
                except Exception as error:
                    lost_answer(error, result)
                    continue
                out.append(time.perf_counter() - started)

        def run(concurrency: int, rounds: int, out: list[float]) -> None:
            start = threading.Barrier(concurrency + 1)
            threads = [
                threading.Thread(target=calls, args=(index, rounds, start, out))
                for index in range(concurrency)
            ]
            for thread in threads:
                thread.start()
            start.wait()
            for thread in threads:
                thread.join()

        run(1, 1, [])
        run(_warm_callers(spec.concurrency), 2, [])
        with measured(result, spec.profile):
            run(spec.concurrency, spec.ops // spec.concurrency, result.latencies)


def first_call(spec: Spec, result: Result) -> None:
    """From constructing the client to its first answer, the lazy NATS connect included."""
    started = time.perf_counter()
    if spec.variant == "sync":
        from session_client import SessionClient

        with SessionClient(
            spec.api_url, [spec.nats_url], http_backend=BACKEND_OF[spec.variant]
        ) as client:
            client.send_and_wait_for_response(session_id(0), CHANNEL, "ping", subject_id(0))
            result.first_call = time.perf_counter() - started
        return

    async def main() -> None:
        op, close = async_caller(spec)
        await op(0)
        result.first_call = time.perf_counter() - started
        await close()

    asyncio.run(main())


def memory(spec: Spec, result: Result) -> None:
    """``ops`` waits pending at once (the human is silent), then all answered by hand.

    Each wait has its own subject (so its own NATS subscription), or all share one. Memory is
    measured once every message was sent, against a baseline taken after a warm-up round;
    answers then go in through the REST API and every waiter must get its own.
    """
    import httpx

    def subject(index: int) -> str:
        return "bench.mem" if spec.shared_subject else f"bench.m{index}"

    def session(index: int) -> str:
        return f"bench-mem-{index}" if spec.own_sessions else "bench-mem"

    async def main() -> None:
        sent: dict[str, int] = {}  # message id -> caller index
        if spec.variant in FLOORS:
            floor = FLOORS[spec.variant](spec.api_url, spec.nats_url)
            await floor.connect()

            async def wait(index: int) -> Any:
                return await floor.send_and_wait(
                    session(index),
                    subject(index),
                    lambda message_id: sent.__setitem__(message_id, index),
                )

            close: Callable[[], Awaitable[None]] = floor.aclose
        else:
            client = recording_client(spec, sent)

            async def wait(index: int) -> Any:
                # Pending through the whole run: every send, then every answer.
                return await client.send_and_wait_for_response(
                    session(index), CHANNEL, str(index), subject(index), timeout=HTTP_TIMEOUT
                )

            close = client.aclose
        answering = httpx.AsyncClient(base_url=spec.api_url, timeout=HTTP_TIMEOUT)
        limit = asyncio.Semaphore(50)

        async def answer(message_id: str, index: int) -> None:
            async with limit:
                response = await answering.post(
                    f"/sessions/{session(index)}/messages/{message_id}/response",
                    json={"response": {"n": index}},
                )
                response.raise_for_status()

        async def round_trip(first: int, count: int, measure: bool) -> list[Any]:
            sent.clear()
            tasks: list[asyncio.Task[Any]] = []
            # Start the waits a batch at a time, so the memory of many sends in flight at once
            # is not counted as memory of pending waits.
            for batch in range(0, count, 100):
                tasks += [
                    asyncio.create_task(wait(first + index))
                    for index in range(batch, min(count, batch + 100))
                ]
                await all_sent(sent, tasks)
            await asyncio.sleep(0.2)  # every waiter back at its wait
            if measure:
                gc.collect()
                traced = tracemalloc.get_traced_memory()[0] if spec.tracemalloc else 0
                if os.environ.get("BENCH_TRACE_TOP"):
                    stats = tracemalloc.take_snapshot().statistics("lineno")
                    log("\n".join(str(stat) for stat in stats[:40]))
                result.memory.update(
                    rss_pending=rss_bytes(),
                    traced_pending=traced,
                    rss_peak_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                )
            await asyncio.gather(*(answer(mid, index) for mid, index in list(sent.items())))
            return list(await asyncio.gather(*tasks))

        import tracemalloc

        await round_trip(0, min(spec.ops, 100), measure=False)  # connections, caches
        gc.collect()
        if spec.tracemalloc:
            tracemalloc.start()
        result.memory.update(rss_base=rss_bytes(), traced_base=0)
        answers = await round_trip(1000, spec.ops, measure=True)
        if spec.tracemalloc:
            tracemalloc.stop()
        result.memory["answered"] = sum(
            answer["response"] == {"n": 1000 + index} for index, answer in enumerate(answers)
        )
        await answering.aclose()
        await close()

    asyncio.run(main())


async def all_sent(sent: dict[str, int], tasks: list[asyncio.Task[Any]]) -> None:
    """Return once every wait of ``tasks`` has sent its message (``sent`` holds them all)."""
    while len(sent) < len(tasks):
        if any(task.done() for task in tasks):
            await asyncio.gather(*tasks)  # raises the failure
        await asyncio.sleep(0.005)


def recording_client(spec: Spec, sent: dict[str, int]) -> Any:
    """An ``AsyncSessionClient`` noting each sent message's id and text (an index) in ``sent``."""
    from session_client import AsyncSessionClient
    from session_client.types import Message

    class Recording(AsyncSessionClient):
        # Every send of both methods goes through ``_send``.
        async def _send(self, session_id: str, body: dict[str, Any], options: Any) -> Message:
            record = await super()._send(session_id, body, options)
            sent[record["message_id"]] = int(record["message"])
            return record

    return Recording(spec.api_url, [spec.nats_url], **client_options(spec))


def scale_session(index: int) -> str:
    """The session of pending wait ``index`` of the scale scenario (-1 - w: warm-up of w)."""
    return f"bench-scale-{index}" if index >= 0 else f"bench-scale-warm{-1 - index}"


def scale(spec: Spec, result: Result) -> None:
    """One of the client processes of the scale scenario: ``ops`` waits pending on one subject,
    each its own session. Prints their sessions and message ids, reads "go" from stdin, then
    measures its CPU time and the NATS messages it is delivered until all are answered (the
    orchestrator answers every process's waits, in random order, through the REST API)."""
    import httpx

    async def main() -> None:
        sent: dict[str, int] = {}
        first = spec.worker_index * spec.ops
        if spec.variant in FLOORS:
            floor = FLOORS[spec.variant](spec.api_url, spec.nats_url)
            await floor.connect()

            async def wait(index: int) -> Any:
                return await floor.send_and_wait(
                    scale_session(index), SCALE_SUBJECT, lambda mid: sent.__setitem__(mid, index)
                )
        else:
            client = recording_client(spec, sent)

            async def wait(index: int) -> Any:
                return await client.send_and_wait_for_response(
                    scale_session(index), CHANNEL, str(index), SCALE_SUBJECT, timeout=HTTP_TIMEOUT
                )

        # Warm-up: connect, and take one answer (the server's subject form shows in it).
        warm = asyncio.create_task(wait(-1 - spec.worker_index))
        await all_sent(sent, [warm])
        async with httpx.AsyncClient(base_url=spec.api_url, timeout=HTTP_TIMEOUT) as http:
            (message_id,) = sent
            path = f"/sessions/{scale_session(-1 - spec.worker_index)}/messages/{message_id}"
            (await http.post(f"{path}/response", json={"response": {}})).raise_for_status()
        await warm
        sent.clear()
        tasks = [asyncio.create_task(wait(first + n)) for n in range(spec.ops)]
        await all_sent(sent, tasks)
        await asyncio.sleep(0.2)  # every waiter back at its wait
        pending = {scale_session(index): message_id for message_id, index in sent.items()}
        print(json.dumps(pending), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)  # go: answers are coming
        if spec.variant in FLOORS:

            def deliveries() -> int:
                return int(floor.delivered)
        else:
            nc = client.nats_connection
            assert nc is not None

            def deliveries() -> int:
                return int(nc.stats["in_msgs"])

        gc.collect()
        delivered, cpu, wall = deliveries(), time.process_time(), time.perf_counter()
        answers = await asyncio.gather(*tasks)
        result.wall = time.perf_counter() - wall
        # The CPU of ending their subscriptions counts too, after their linger.
        while spec.variant not in FLOORS and client.subscription_count:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        result.cpu = time.process_time() - cpu
        result.memory = {
            "deliveries": deliveries() - delivered,
            "answered": sum(
                answer["response"] == {"n": first + n} for n, answer in enumerate(answers)
            ),
        }
        await (floor.aclose() if spec.variant in FLOORS else client.aclose())

    asyncio.run(main())


def worker(spec: Spec) -> Result:
    """Run one measurement in this process."""
    result = Result(spec.variant, spec.concurrency, spec.ops)
    if spec.mode == "first_call":
        first_call(spec, result)
    elif spec.mode == "memory":
        memory(spec, result)
    elif spec.mode == "scale":
        scale(spec, result)
    elif spec.variant == "sync":
        throughput_sync(spec, result)
    else:
        throughput_async(spec, result)
    return result


# -- the orchestrator ---------------------------------------------------------------------------


@contextlib.contextmanager
def local_stack(*extra: str) -> Iterator[dict[str, Any]]:
    """The local stack in a process of its own; yields its ``api_url``, ``nats_url`` and
    ``pid``."""
    command = [sys.executable, "-m", "session_client.testing", "serve", "--no-stream", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the local stack did not start: {shlex.join(command)}")
        yield {**json.loads(line), "pid": process.pid}
    finally:
        process.terminate()  # SIGTERM: the stack stops its nats-server and exits
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """A detached git worktree of this checkout at ``rev``, removed afterwards: the library
    at that revision, for :func:`run_worker`'s ``tree``."""
    git = ["git", "-C", str(ROOT)]
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run([*git, "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            yield tree
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=True)


def worker_command(spec: Spec, tree: Path = ROOT) -> tuple[list[str], dict[str, str] | None]:
    """The command line and environment (None: this one) of a worker process measuring
    ``spec`` with the library of ``tree`` (a checkout)."""
    env = None
    if tree != ROOT:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(tree / "generated")])}
    # A tree from before the telemetry rows or the scale scenario does not know their fields.
    fields = {
        name: value
        for name, value in spec.__dict__.items()
        if (name, value) not in {("telemetry", "off"), ("own_sessions", False), ("worker_index", 0)}
    }
    return [sys.executable, str(tree / "scripts" / "bench.py"), "worker", json.dumps(fields)], env


def run_worker(spec: Spec, tree: Path = ROOT) -> Result:
    """Run ``spec`` in a fresh worker process, with the library of ``tree`` (a checkout)."""
    command, env = worker_command(spec, tree)
    out = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"worker {spec} failed:\n{out.stderr[-4000:]}")
    return Result(**json.loads(out.stdout.splitlines()[-1]))


async def create_sessions(
    api_url: str, count: int, pending: int = 0, plan: Plan | None = None
) -> None:
    """The sessions of ``count`` callers, each with its subject; with ``pending`` those of the
    memory runs, and with ``plan`` those of its scale runs."""
    import httpx

    limit = asyncio.Semaphore(50)
    async with httpx.AsyncClient(base_url=api_url, timeout=HTTP_TIMEOUT) as http:

        async def create(session: str, subject: str) -> None:
            async with limit:
                body = {"session_id": session, "subject_id": subject}
                (await http.post("/sessions", json=body)).raise_for_status()

        await asyncio.gather(
            create("bench-mem", "bench.mem"),
            *(create(session_id(index), subject_id(index)) for index in range(count)),
        )
        if pending:
            # The memory run's own sessions: 100 to warm up, then ``pending`` from 1000 on.
            await asyncio.gather(
                *(
                    create(f"bench-mem-{index}", "bench.mem")
                    for index in (*range(100), *range(1000, 1000 + pending))
                )
            )
        if plan is not None:  # the scale runs' waits, and each process's warm-up
            first = -max(plan.scale_processes)
            await asyncio.gather(
                *(
                    create(scale_session(index), SCALE_SUBJECT)
                    for index in range(first, plan.scale_waits)
                )
            )


def import_time(statement: str, modules: list[str]) -> float:
    """Seconds to import ``modules`` in a fresh interpreter (``python -X importtime``)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    for line in out.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if match and match.group(2) in modules:  # top-level lines only: no indentation
            total += int(match.group(1))
    return total / 1e6


@dataclass
class Plan:
    """How much the orchestrator measures."""

    concurrency: list[int]
    repeats: int
    pending: int
    cold_repeats: int
    profile: bool
    min_ops: int
    scale_waits: int = 400
    scale_processes: tuple[int, ...] = (1, 5, 10, 20)
    scale_repeats: int = 5
    consumer_answers: int = 5000  # per consumer-group run (bench_consumers)
    variants: tuple[str, ...] = VARIANTS
    # Telemetry, first call, memory, scale and import time; off for a quick look at round trips.
    sections: bool = True
    libraries: bool = True  # the profiles grouped by library

    def variants_at(self, concurrency: int) -> tuple[str, ...]:
        """The variants measured at ``concurrency`` (see ``UP_TO_1000``)."""
        return tuple(v for v in self.variants if concurrency <= 1000 or v not in UP_TO_1000)

    def ops(self, concurrency: int) -> int:
        """Operations per run: enough for a p99, bounded in time."""
        target = max(self.min_ops, 2 * concurrency if concurrency < 10_000 else concurrency)
        return -(-target // concurrency) * concurrency


def measure_scale(
    plan: Plan, base: dict[str, str], server: str, clients: tuple[str, ...] = ("async",)
) -> list[dict[str, Any]]:
    """The scale scenario against one server: for every client, process count and repeat
    (clients interleaved), the summed CPU time and NATS deliveries of every client process
    until all waits were answered."""
    runs = []
    for repeat in range(plan.scale_repeats):
        for processes in plan.scale_processes:
            for client in clients[repeat % len(clients) :] + clients[: repeat % len(clients)]:
                run = scale_run(plan.scale_waits, processes, base, client)
                runs.append(
                    {
                        "server": server,
                        "client": client,
                        "processes": processes,
                        "repeat": repeat,
                        **run,
                    }
                )
                log(
                    f"scale {server} {client} P={processes} repeat {repeat}: "
                    f"{1e6 * run['cpu'] / run['waits']:.0f} us CPU and "
                    f"{run['deliveries'] / run['waits']:.2f} deliveries per answer, "
                    f"{run['answered']} answered"
                )
    return runs


def scale_run(
    waits: int, processes: int, base: dict[str, str], variant: str = "async"
) -> dict[str, Any]:
    """``waits`` pending waits on one subject over ``processes`` worker processes, then all
    answered at once through the REST API, in random order."""
    import random

    per = waits // processes
    specs = [
        Spec(variant, processes, per, base["api_url"], base["nats_url"], "scale", worker_index=w)
        for w in range(processes)
    ]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "scripts" / "bench.py"),
                "worker",
                json.dumps(spec.__dict__),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for spec in specs
    ]
    try:
        pending: dict[str, str] = {}
        for process in workers:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("a scale worker failed before its waits were pending")
            pending.update(json.loads(line))
        for process in workers:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        order = list(pending.items())
        random.shuffle(order)
        asyncio.run(answer_all(base["api_url"], order))
        results = []
        for process in workers:
            out, _ = process.communicate(timeout=300)
            if process.returncode != 0:
                raise RuntimeError("a scale worker failed")
            results.append(Result(**json.loads(out.splitlines()[-1])))
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
    return {
        "waits": per * processes,
        "cpu": sum(result.cpu for result in results),
        "deliveries": sum(result.memory["deliveries"] for result in results),
        "answered": sum(result.memory["answered"] for result in results),
    }


async def answer_all(api_url: str, order: list[tuple[str, str]]) -> None:
    """Answer every (session, message id) of ``order``, 50 at a time; the answer names the
    wait's index, so that each waiter can tell its own."""
    import httpx

    limit = asyncio.Semaphore(50)
    async with httpx.AsyncClient(base_url=api_url, timeout=HTTP_TIMEOUT) as http:

        async def answer(session: str, message_id: str) -> None:
            async with limit:
                response = await http.post(
                    f"/sessions/{session}/messages/{message_id}/response",
                    json={"response": {"n": int(session.rsplit("-", 1)[1])}},
                )
                response.raise_for_status()

        await asyncio.gather(*(answer(session, message_id) for session, message_id in order))


def nats_server_memory(nats_url: str, stack_pid: int, subscriptions: int) -> dict[str, Any]:
    """The NATS server's resident memory per subscription: RSS growth while one connection
    holds ``subscriptions`` subscriptions to distinct session subjects (raw protocol, so that
    no client library's per-subscription objects are made)."""
    import socket
    from urllib.parse import urlsplit

    server_pid = next(
        pid
        for pid in children(stack_pid)
        if b"nats-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )

    def rss() -> int:
        with open(f"/proc/{server_pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE

    url = urlsplit(nats_url)
    with socket.create_connection((url.hostname, url.port), timeout=60) as connection:
        reader = connection.makefile("rb")
        reader.readline()  # INFO
        connection.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        reader.readline()  # PONG
        time.sleep(0.5)
        before = rss()
        subject = f"sessions.responses.{SCALE_SUBJECT}.bench-sub-"
        connection.sendall(
            b"".join(f"SUB {subject}{index} {index}\r\n".encode() for index in range(subscriptions))
            + b"PING\r\n"
        )
        while not reader.readline().startswith(b"PONG"):
            pass
        time.sleep(0.5)
        after = rss()
    return {"subscriptions": subscriptions, "rss_growth": after - before}


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def measure(plan: Plan) -> dict[str, Any]:
    """Every measurement of ``plan``; the raw material of the report."""
    data: dict[str, Any] = {
        "runs": [],
        "telemetry": [],
        "first_call": [],
        "memory": [],
        "imports": {},
        "telemetry_hooks": telemetry_hook_costs() if plan.sections else {},
    }
    with local_stack() as urls:
        asyncio.run(create_sessions(urls["api_url"], max(plan.concurrency)))
        base = {"api_url": urls["api_url"], "nats_url": urls["nats_url"]}
        for repeat in range(plan.repeats):
            # Every concurrency in every repeat: at 10,000 callers a run is one burst whose p50
            # depends on the order the server serves it in, and varies from run to run.
            for concurrency in plan.concurrency:
                # Rotate the order so no variant always runs first after a quiet period.
                variants = plan.variants_at(concurrency)
                shift = repeat % max(1, len(variants))
                for variant in variants[shift:] + variants[:shift]:
                    spec = Spec(variant, concurrency, plan.ops(concurrency), **base)
                    result = run_worker(spec)
                    data["runs"].append({"repeat": repeat, **result.__dict__})
                    log(
                        f"repeat {repeat} {variant:>13} x{concurrency:<6} "
                        f"{result.ops / result.wall:8.1f} ops/s "
                        f"cpu {1e3 * result.cpu / result.ops:.3f} ms/op, {result.lost} lost"
                    )
            if not plan.sections:
                continue
            for variant in plan.variants:
                result = run_worker(Spec(variant, 1, 1, mode="first_call", **base))
                data["first_call"].append({"repeat": repeat, **result.__dict__})
            for concurrency in (c for c in plan.concurrency if c in TELEMETRY_CONCURRENCY):
                order = TELEMETRY[repeat % 3 :] + TELEMETRY[: repeat % 3]
                for mode in order:
                    spec = Spec("async", concurrency, plan.ops(concurrency), **base)
                    spec.telemetry = mode
                    result = run_worker(spec)
                    data["telemetry"].append({"repeat": repeat, "mode": mode, **result.__dict__})
                    log(
                        f"repeat {repeat} telemetry {mode:>3} x{concurrency:<4} "
                        f"cpu {1e3 * result.cpu / result.ops:.3f} ms/op"
                    )
        if plan.profile:
            data["profiles"] = {}
            for variant in PROFILED:
                for concurrency in (1, 1000):
                    spec = Spec(variant, concurrency, plan.ops(concurrency), profile="flat", **base)
                    data["profiles"][f"{variant} x{concurrency}"] = run_worker(spec).profile
        if plan.libraries:
            data["libraries"] = []
            for concurrency in (c for c in plan.concurrency if c in TARGET_CONCURRENCY):
                for variant in plan.variants_at(concurrency):
                    # Half the rounds: cProfile slows the clients down up to fivefold.
                    ops = max(1, plan.ops(concurrency) // concurrency // 2) * concurrency
                    result = run_worker(
                        Spec(variant, concurrency, ops, profile="libraries", **base)
                    )
                    data["libraries"].append(result.__dict__)
    if not plan.sections:
        return data
    measure_pending(plan, data, MEMORY_CASES)
    data["consumers"] = measure_consumers(plan.repeats, plan.consumer_answers)
    # session_client imports its clients on first use: what a user's first line costs is
    # the package and both clients (each a top-level line of -X importtime then).
    clients = "session_client", "session_client.async_client", "session_client.sync_client"
    cases = {
        "session_client": ("from session_client import AsyncSessionClient, SessionClient", clients),
        "httpx, nats": ("import httpx, nats", ("httpx", "nats")),
        "opentelemetry.trace, opentelemetry.metrics": (
            "import opentelemetry.trace, opentelemetry.metrics",
            ("opentelemetry.trace", "opentelemetry.metrics"),
        ),
    }
    for name, (statement, modules) in cases.items():
        data["imports"][name] = [
            import_time(statement, list(modules)) for _ in range(plan.cold_repeats)
        ]
    return data


def measure_pending(
    plan: Plan, data: dict[str, Any], memory_cases: tuple[tuple[str, bool, bool], ...]
) -> None:
    """Into ``data``: the memory of pending waits (``memory_cases``), the NATS server's memory
    per subscription and the scale scenario, against servers that hold every answer back."""
    with local_stack("--silent") as urls:
        asyncio.run(create_sessions(urls["api_url"], 0, plan.pending, plan))
        base = {"api_url": urls["api_url"], "nats_url": urls["nats_url"]}
        for variant, shared, own_sessions in memory_cases:
            for traced in (False, True):
                spec = Spec(variant, plan.pending, plan.pending, mode="memory", **base)
                spec.tracemalloc, spec.shared_subject = traced, shared
                spec.own_sessions = own_sessions
                result = run_worker(spec)
                data["memory"].append(
                    {"shared_subject": shared, "own_sessions": own_sessions, **result.__dict__}
                )
                log(
                    f"memory {variant} shared={shared} own_sessions={own_sessions} "
                    f"tracemalloc={traced}: {result.memory}"
                )
        data["nats_server"] = nats_server_memory(urls["nats_url"], urls["pid"], plan.pending * 10)
        log(f"nats-server: {data['nats_server']}")
        data["scale"] = measure_scale(plan, base, "per-session", SCALE_CLIENTS)
    with local_stack("--silent", "--subject-wide") as urls:
        asyncio.run(create_sessions(urls["api_url"], 0, 0, plan))
        base = {"api_url": urls["api_url"], "nats_url": urls["nats_url"]}
        data["scale"] += measure_scale(plan, base, "subject-wide")


def log(text: str) -> None:
    """Progress on stderr."""
    print(text, file=sys.stderr, flush=True)


# -- the report ---------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_stats(run: dict[str, Any]) -> dict[str, float]:
    """Throughput, latency percentiles and CPU per operation of one run."""
    return {
        "throughput": run["ops"] / run["wall"],
        "p50": quantile(run["latencies"], 0.50),
        "p99": quantile(run["latencies"], 0.99),
        "cpu": run["cpu"] / run["ops"],
    }


def summarize(data: dict[str, Any]) -> dict[tuple[str, int], dict[str, float]]:
    """Per variant and concurrency: the median over repeats of each statistic, and the median
    over repeats of each statistic's ratio to its floor's (``FLOOR_OF``) in the same repeat."""
    by_key: dict[tuple[str, int], dict[int, dict[str, float]]] = {}
    for run in data["runs"]:
        by_key.setdefault((run["variant"], run["concurrency"]), {})[run["repeat"]] = run_stats(run)
    summary = {}
    for (variant, concurrency), repeats in by_key.items():
        floor = by_key.get((FLOOR_OF.get(variant, ""), concurrency), {})
        row = {}
        for name in ("throughput", "p50", "p99", "cpu"):
            row[name] = statistics.median(stats[name] for stats in repeats.values())
            ratios = [
                stats[name] / floor[repeat][name]
                for repeat, stats in repeats.items()
                if repeat in floor
            ]
            if ratios:  # not where the baseline was not measured
                row[f"{name}_ratio"] = statistics.median(ratios)
        summary[(variant, concurrency)] = row
    return summary


def paired_ratio(
    data: dict[str, Any], variant: str, base: str, concurrency: int, name: str
) -> float:
    """The median over repeats of ``variant``'s statistic ``name`` over ``base``'s, in the same
    repeat at ``concurrency`` (NaN if either was not measured)."""
    stats = {
        (run["variant"], run["repeat"]): run_stats(run)[name]
        for run in data["runs"]
        if run["concurrency"] == concurrency
    }
    ratios = [
        value / stats[(base, repeat)]
        for (other, repeat), value in stats.items()
        if other == variant and (base, repeat) in stats
    ]
    return statistics.median(ratios) if ratios else float("nan")


def target_lines(
    data: dict[str, Any], summary: dict[tuple[str, int], dict[str, float]]
) -> list[str]:
    """The round-trip targets of issues 25 (CPU per backend) and 13 (p50), as rows of the
    targets table; every ratio is the median of the per-repeat ratios."""
    targets = []
    for variant, floor, concurrencies, limit in CPU_TARGETS:
        for concurrency in concurrencies:
            value = paired_ratio(data, variant, floor, concurrency, "cpu")
            if value == value:  # not NaN: both were measured
                targets.append(
                    (f"{variant} CPU/op at x{concurrency} <= {limit}x {floor}", value, limit)
                )
    for variant in ("async", "async-aiohttp", "async-httpx2"):
        for concurrency in TARGET_CONCURRENCY:
            p50 = summary.get((variant, concurrency), {}).get("p50_ratio")
            if p50 is not None:
                floor = FLOOR_OF[variant]
                targets.append((f"{variant} p50 at x{concurrency} <= 1.2x {floor}", p50, 1.2))
    sync_cpu = paired_ratio(data, "sync", "async", 1, "cpu")
    if sync_cpu == sync_cpu:  # not NaN
        targets.append(("sync CPU/op at x1 <= 1.15x async", sync_cpu, 1.15))
    lines = [
        f"| {target} | {value:.2f}x | {verdict(value, limit)} |" for target, value, limit in targets
    ]
    lost = sum(run.get("lost", 0) for run in data["runs"])
    lines.append(
        f"| 0 answers lost (every round trip of every variant) | {lost} lost of "
        f"{sum(run['ops'] for run in data['runs']):,} | {verdict(lost, 0)} |"
    )
    sync_vs_async = paired_ratio(data, "sync", "async", 1, "throughput")
    if sync_vs_async == sync_vs_async:
        lines.append(
            f"| sync sequential throughput >= 0.9x async | {sync_vs_async:.2f}x | "
            f"{verdict(sync_vs_async, 0.9, higher_is_better=True)} |"
        )
    return lines


def machine() -> str:
    """A one-line description of this machine."""
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30
    return (
        f"{model}, {os.cpu_count()} CPUs, {memory:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def verdict(value: float, limit: float, higher_is_better: bool = False) -> str:
    """``met`` or ``missed`` for ``value`` against ``limit``."""
    ok = value >= limit if higher_is_better else value <= limit
    return "met" if ok else "**missed**"


def report(data: dict[str, Any], plan: Plan, command: str, elapsed: float) -> str:
    """BENCHMARKS.md from the measurements (and the hand-written notes on the profile)."""
    summary = summarize(data)
    lines = [
        "# Benchmarks",
        "",
        "Generated by `scripts/bench.py`; do not edit by hand (notes come from "
        "`scripts/bench_notes.md`).",
        "",
        f"- Command: `{command}` ({elapsed / 60:.1f} min, {time.strftime('%Y-%m-%d %H:%M %Z')})",
        f"- Machine: {machine()}; load average at the end {os.getloadavg()[0]:.2f} "
        "(shared with other jobs: compare ratios, which are taken within one repeat)",
        f"- Repeats: {plan.repeats}; figures are medians over repeats, ratios are medians of "
        "the per-repeat ratios to the variant's floor (see Round trips)",
        "- Workload: `concurrency` callers, each with its own session and response subject, "
        "each doing send-and-wait round trips back to back against the reference server "
        "(separate process, instant simulated human); every variant in a fresh process.",
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    lines += target_lines(data, summary)
    memory = memory_index(data)
    for variant, shared, own_sessions in MEMORY_CASES:
        if variant in FLOORS:
            continue
        traced = memory.get((variant, shared, own_sessions, True))
        rss = memory.get((variant, shared, own_sessions, False))
        if traced and rss:
            pending = rss["ops"]
            answered = min(traced["memory"]["answered"], rss["memory"]["answered"])
            where = f"{variant}, {memory_layout(shared, own_sessions)}"
            lines.append(
                f"| {pending:,} concurrent waits on one NATS connection ({where}), all "
                f"answered | {answered:,} answered | "
                f"{verdict(answered, pending, higher_is_better=True)} |"
            )
            largest = max(per_wait(traced, "traced"), per_wait(rss, "rss"))
            lines.append(
                f"| <= 8 KiB per pending wait ({where}; tracemalloc / RSS) | "
                f"{per_wait(traced, 'traced') / 1024:.1f} / {per_wait(rss, 'rss') / 1024:.1f} "
                f"KiB | {verdict(largest, 8192)} |"
            )
    async_x1 = [run_stats(run)["cpu"] for run in data["runs"] if run["variant"] == "async"]
    if async_x1 and data["telemetry_hooks"]:
        hooks = max(data["telemetry_hooks"].values()) / min(async_x1)
        lines.append(
            "| telemetry hooks with no SDK <= 2% of async CPU/op (its lowest here) | "
            f"{100 * hooks:.2f}% | {verdict(hooks, 0.02)} |"
        )
    scale_rows = scale_summary(data.get("scale", []))
    per_session = {
        row["processes"]: row
        for row in scale_rows
        if row["server"] == "per-session" and row["client"] == "async"
    }
    if 1 in per_session and 10 in per_session:
        ratio = per_session[10]["cpu"] / per_session[1]["cpu"]
        lines.append(
            f"| {per_session[1]['waits']:,} waits on one subject: client CPU per useful answer "
            f"at 10 processes <= 1.5x 1 process | {ratio:.2f}x | {verdict(ratio, 1.5)} |"
        )
    if per_session:
        worst = max(row["deliveries"] for row in per_session.values())
        lines.append(
            f"| NATS deliveries per useful answer <= 1.1 at every process count "
            f"({', '.join(map(str, sorted(per_session)))}) | {worst:.2f} | {verdict(worst, 1.1)} |"
        )
    imports = {name: statistics.median(times) for name, times in data["imports"].items()}
    if imports:
        import_ratio = imports["session_client"] / imports["httpx, nats"]
        lines.append(
            f"| `import session_client` <= 1.3x `import httpx, nats` | {import_ratio:.2f}x | "
            f"{verdict(import_ratio, 1.3)} |"
        )
    if data.get("consumers"):
        lines += consumer_targets(data["consumers"])
    lines += round_trip_lines(data, plan, summary)
    lines += libraries_report(data)
    if not plan.sections:
        return "\n".join(lines)
    lines += telemetry_report(data)
    lines += [
        "",
        "## Memory per pending wait",
        "",
        "The silent human never answers on its own: all waits are pending at once (started in "
        "batches of 100 so that sends in flight are not counted), then every message is "
        "answered through the REST API and each waiter must get its own answer. Per wait = "
        "growth over a warmed-up baseline / waits; tracemalloc counts Python allocations, RSS "
        "what the process holds (a separate run without tracemalloc). With its own subject, each "
        "wait costs a nats-py subscription: in the floor with an asyncio.Queue and a task "
        "(about 4 KiB), in the library with the Queue alone, which nats-py makes even for a "
        "subscription that never uses it (about 3 KiB). The library subscribes once per session "
        "and subject (`asyncapi.yaml`): waits of one session share a subscription, waits of "
        "distinct sessions do not, even on one subject.",
        "",
        "| variant | subjects | pending waits | answered | tracemalloc / wait | RSS / wait |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += memory_lines(data)
    lines += scale_report(data, scale_rows)
    if data.get("consumers"):
        lines += consumer_report(data["consumers"])
    lines += [
        "",
        "## Cold start",
        "",
        "Import time from `python -X importtime -c 'import ...'` (cumulative of the top-level "
        f"modules, median of {plan.cold_repeats}; for session_client, "
        "`from session_client import AsyncSessionClient, SessionClient`, since the package "
        "imports its clients on first use), and the first call's latency in a fresh "
        "process: constructing the client, connecting NATS lazily, one round trip (median over "
        "repeats).",
        "",
        "| import | ms |",
        "|---|---:|",
    ]
    for name, seconds in imports.items():
        lines.append(f"| `import {name}` | {seconds * 1e3:.1f} |")
    lines += ["", "| variant | first call ms |", "|---|---:|"]
    for variant in plan.variants:
        firsts = [f["first_call"] for f in data["first_call"] if f["variant"] == variant]
        lines.append(f"| {variant} | {statistics.median(firsts) * 1e3:.1f} |")
    for name, text in data.get("profiles", {}).items():
        top = [line for line in text.splitlines() if line.strip()][:18]
        lines += ["", f"### Profile: {name} (pyinstrument, flat, self time)", "", "```"]
        lines += [*top, "```"]
    notes = ROOT / "scripts" / "bench_notes.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    lines += ["", "![latency CDF and throughput](benchmarks.png)", ""]
    return "\n".join(lines)


def round_trip_lines(
    data: dict[str, Any], plan: Plan, summary: dict[tuple[str, int], dict[str, float]]
) -> list[str]:
    """The round trips section: every variant at every concurrency measured."""
    lines = [
        "",
        "## Round trips",
        "",
        "Throughput in round trips per second; latency of one `send_and_wait_for_response` in "
        "ms; CPU time of the client process per round trip in ms (all threads); answers that "
        "never came (summed over repeats). In brackets: the median of the per-repeat ratios to "
        "the floor in the column `vs`. The floors are the round trip written by hand "
        "(`scripts/bench_floors.py`), each keeping one confirmed subscription per session "
        "subject: `floor-bare` with no HTTP or NATS library (asyncio protocols, the limit of "
        "this machine), `floor-aiohttp`, `floor-httpx` and `floor-httpx2` with that HTTP "
        "library and nats-py. `async` is the library on its default backend (httpx), "
        "`async-aiohttp` and `async-httpx2` on the other two; `sync` is on httpx. "
        f"{', '.join(f'`{v}`' for v in UP_TO_1000)} run at 1,000 callers at most.",
        "",
        "| concurrency | variant | vs | ops/run | throughput | p50 ms | p99 ms | CPU ms/op "
        "| lost |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for concurrency in plan.concurrency:
        for variant in plan.variants_at(concurrency):
            row = summary.get((variant, concurrency))
            if row is None:
                continue

            def cell(name: str, scale: float, digits: int, row: dict[str, float] = row) -> str:
                text = f"{row[name] * scale:.{digits}f}"
                ratio = row.get(name + "_ratio")
                return text if ratio is None else f"{text} ({ratio:.2f}x)"

            lost = sum(
                run.get("lost", 0)
                for run in data["runs"]
                if run["variant"] == variant and run["concurrency"] == concurrency
            )
            lines.append(
                f"| {concurrency:,} | {variant} | {FLOOR_OF.get(variant, '')} | "
                f"{plan.ops(concurrency):,} | "
                f"{cell('throughput', 1, 0)} | {cell('p50', 1e3, 2)} | {cell('p99', 1e3, 2)} | "
                f"{cell('cpu', 1e3, 3)} | {lost} |"
            )
    return lines


def libraries_report(data: dict[str, Any]) -> list[str]:
    """Per concurrency, a table of CPU per round trip by library for every variant."""
    runs = data.get("libraries", [])
    if not runs:
        return []
    lines = [
        "",
        "## Where the CPU goes, by library",
        "",
        "One run per variant under cProfile with a CPU clock: self time of every function, "
        "summed by the top-level package of its file (`scripts/bench_profile.py`), in µs per "
        "round trip and as a share of the profiled total. The profiler's own cost inflates the "
        "µs (compare the total with the CPU/op above): compare shares, and variants with each "
        "other. Python 3.12+ profiles every thread (`sync`'s too), older ones only the "
        "measuring one. Libraries under 1% of every variant are summed into `other`.",
    ]
    for concurrency in sorted({run["concurrency"] for run in runs}):
        here = [run for run in runs if run["concurrency"] == concurrency]
        shares = [library_shares(run["libraries"]) for run in here]
        shown = sorted(
            {n for share in shares for n, part in share.items() if part >= 0.01 and n != OTHER},
            key=lambda name: -max(share.get(name, 0.0) for share in shares),
        )
        lines += [
            "",
            f"### {concurrency:,} concurrent callers",
            "",
            "| library | " + " | ".join(run["variant"] for run in here) + " |",
            "|---|" + "---:|" * len(here),
        ]
        for name in [*shown, OTHER]:
            cells = []
            for run, share in zip(here, shares, strict=True):
                part = (
                    share.get(name, 0.0)
                    if name != OTHER
                    else sum(v for k, v in share.items() if k not in shown)
                )
                total = sum(run["libraries"].values())
                cells.append(f"{1e6 * part * total / run['ops']:,.0f} ({100 * part:.0f}%)")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        totals = [f"{1e6 * sum(run['libraries'].values()) / run['ops']:,.0f}" for run in here]
        lines.append("| **total** (profiled, µs/op) | " + " | ".join(totals) + " |")
    return lines


def library_shares(seconds: dict[str, float]) -> dict[str, float]:
    """Each library's share of the profiled total."""
    total = sum(seconds.values()) or 1.0
    return {name: value / total for name, value in seconds.items()}


def telemetry_hook_costs() -> dict[str, float]:
    """CPU (s) the telemetry hooks add to one round trip with no SDK, by whether the
    OpenTelemetry API is imported: measured in process by ``bench_telemetry_hooks.py``, as
    a few hundred ns are far below what a whole round trip varies by here."""
    costs = {}
    for mode, flags in (("off", []), ("api", ["--api"])):
        out = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "bench_telemetry_hooks.py"), *flags],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout
        line = next(line for line in out.splitlines() if line.startswith("per round trip"))
        costs[mode] = float(line.split()[-2]) / 1e9
    return costs


def telemetry_report(data: dict[str, Any]) -> list[str]:
    """The telemetry rows: CPU and latency of ``async`` by OpenTelemetry set-up, as ratios to
    ``off`` within each repeat."""
    by_key: dict[tuple[str, int], dict[int, dict[str, float]]] = {}
    for run in data["telemetry"]:
        by_key.setdefault((run["mode"], run["concurrency"]), {})[run["repeat"]] = run_stats(run)
    lines = [
        "",
        "## Telemetry",
        "",
        "`async` round trips with OpenTelemetry `off` (not imported), `api` (imported, no SDK "
        "configured) and `sdk` (SDK providers passed to the client: in-memory span exporter and "
        "metric reader), interleaved; medians over repeats, in brackets the median of the "
        "per-repeat ratios to `off`. The hooks themselves cost, with no SDK, "
        + ", ".join(
            f"{cost * 1e9:,.0f} ns per round trip with the API {name}"
            for name, cost in (
                ("not imported", data["telemetry_hooks"]["off"]),
                ("imported", data["telemetry_hooks"]["api"]),
            )
        )
        + " (measured in process in this run by `scripts/bench_telemetry_hooks.py`: the call "
        "span, the wait's start and end, the HTTP attempt's hook and the register wrapper).",
        "",
        "| concurrency | OpenTelemetry | CPU ms/op | p50 ms |",
        "|---:|---|---:|---:|",
    ]
    for (mode, concurrency), repeats in sorted(by_key.items(), key=lambda item: item[0][1]):
        off = by_key[("off", concurrency)]
        cells = []
        for name, scale in (("cpu", 1e3), ("p50", 1e3)):
            value = statistics.median(stats[name] for stats in repeats.values()) * scale
            ratio = statistics.median(
                stats[name] / off[repeat][name] for repeat, stats in repeats.items()
            )
            cells.append(f"{value:.3f} ({ratio:.3f}x)")
        lines.append(f"| {concurrency:,} | {mode} | {cells[0]} | {cells[1]} |")
    return lines


def memory_index(data: dict[str, Any]) -> dict[tuple[str, bool, bool, bool], dict[str, Any]]:
    """The memory runs by variant, shared subject, own sessions and tracemalloc."""
    return {
        (
            m["variant"],
            m["shared_subject"],
            m["own_sessions"],
            bool(m["memory"]["traced_pending"]),
        ): m
        for m in data["memory"]
    }


def memory_lines(data: dict[str, Any]) -> list[str]:
    """The rows of the memory table, one per case measured with and without tracemalloc."""
    memory = memory_index(data)
    lines = []
    for variant, shared, own_sessions in MEMORY_CASES:
        traced = memory.get((variant, shared, own_sessions, True))
        rss = memory.get((variant, shared, own_sessions, False))
        if traced and rss:
            lines.append(
                f"| {variant} | {memory_layout(shared, own_sessions)} | {rss['ops']:,} | "
                f"{rss['memory']['answered']:,} | {per_wait(traced, 'traced') / 1024:.2f} KiB | "
                f"{per_wait(rss, 'rss') / 1024:.2f} KiB |"
            )
    return lines


def memory_layout(shared: bool, own_sessions: bool) -> str:
    """How a memory run spreads its waits over subjects and sessions."""
    if not shared:
        return "each on its own subject"
    return "all on one subject, each its own session" if own_sessions else "all on one subject"


def scale_summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per server, client and process count: medians over repeats of client CPU and NATS
    deliveries per useful answer, and the fewest waits answered."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for run in runs:
        key = (run["server"], run.get("client", "async"), run["processes"])
        groups.setdefault(key, []).append(run)
    return [
        {
            "server": server,
            "client": client,
            "processes": processes,
            "waits": group[0]["waits"],
            "answered": min(run["answered"] for run in group),
            "cpu": statistics.median(run["cpu"] / run["waits"] for run in group),
            "deliveries": statistics.median(run["deliveries"] / run["waits"] for run in group),
        }
        for (server, client, processes), group in groups.items()
    ]


def scale_report(data: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The section on many client processes waiting on one subject."""
    if not rows:
        return []
    first = {(row["server"], row["client"]): row["cpu"] for row in rows if row["processes"] == 1}
    repeats = max(run["repeat"] for run in data["scale"]) + 1
    lines = [
        "",
        "## Many processes on one subject",
        "",
        f"{rows[0]['waits']:,} waits pending on one subject, each its own session, spread "
        "evenly over P client processes (`AsyncSessionClient`, one NATS connection each), then "
        "all answered at once through the REST API in random order. Client CPU: the sum over "
        "the processes of their CPU time from the first answer sent until their last wait was "
        "answered, per wait; deliveries: the messages NATS delivered to those processes "
        "meanwhile, per wait. The same library against a server publishing per session "
        "(`asyncapi.yaml` 2.0.0) and against one publishing subject-wide (1.0.0, how answers "
        "were routed before). Against the per-session server the same waits are also made by "
        "the floors on the library's HTTP library and on none (`floor-httpx`: httpx and "
        "nats-py; `floor-bare`: no library), interleaved with the library: how much of the "
        "growth with P the machine itself imposes (each process wakes for its own answers, "
        f"on 2 shared cores). Medians of {repeats} repeats; `benchmarks-scale.png` plots them.",
        "",
        "| server publishes | client | processes | answered | client CPU per useful answer "
        "| vs 1 process | NATS deliveries per useful answer |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    order = {name: index for index, name in enumerate(SCALE_CLIENTS)}
    for row in sorted(
        rows,
        key=lambda row: (row["server"] != "per-session", order[row["client"]], row["processes"]),
    ):
        growth = row["cpu"] / first[(row["server"], row["client"])]
        lines.append(
            f"| {row['server']} | {row['client']} | {row['processes']} | "
            f"{row['answered']:,} of {row['waits']:,} | {row['cpu'] * 1e6:,.0f} us | "
            f"{growth:.2f}x | {row['deliveries']:.2f} |"
        )
    server = data.get("nats_server")
    if server:
        lines += [
            "",
            "nats-server memory per subscription: "
            f"{server['rss_growth'] / server['subscriptions']:.0f} bytes (RSS growth while one "
            f"connection held {server['subscriptions']:,} subscriptions to distinct session "
            "subjects).",
        ]
    return lines


def plot_scale(rows: list[dict[str, Any]], path: Path) -> None:
    """Client CPU and NATS deliveries per useful answer against the number of processes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for server in SCALE_SERVERS:
        for client in SCALE_CLIENTS:
            points = sorted(
                (r["processes"], r["cpu"], r["deliveries"])
                for r in rows
                if r["server"] == server and r["client"] == client
            )
            if not points:
                continue
            processes, cpu, deliveries = zip(*points, strict=True)
            label = f"{client}, server: {server}"
            axes[0].plot(processes, [c * 1e6 for c in cpu], marker="o", label=label)
            axes[1].plot(processes, deliveries, marker="o", label=label)
    for axis, label in zip(
        axes,
        ("client CPU per useful answer (us)", "NATS deliveries per useful answer"),
        strict=True,
    ):
        axis.set_xlabel("client processes sharing the subject")
        axis.set_ylabel(label)
        axis.set_yscale("log")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(f"{rows[0]['waits']:,} pending waits on one subject")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def per_wait(run: dict[str, Any], kind: str) -> float:
    """Bytes per pending wait of a memory run, by ``traced`` or ``rss`` memory."""
    memory = run["memory"]
    return float(memory[f"{kind}_pending"] - memory[f"{kind}_base"]) / int(run["ops"])


def plot(data: dict[str, Any], plan: Plan, path: Path) -> None:
    """Latency CDFs per variant (lowest and a high concurrency) and throughput vs concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    summary = summarize(data)
    high = max(c for c in plan.concurrency if c <= 1000)
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for axis, concurrency in zip(axes[:2], (plan.concurrency[0], high), strict=True):
        for variant in plan.variants_at(concurrency):
            latencies = sorted(
                latency * 1e3
                for run in data["runs"]
                if run["variant"] == variant and run["concurrency"] == concurrency
                for latency in run["latencies"]
            )
            fractions = [(index + 1) / len(latencies) for index in range(len(latencies))]
            axis.plot(latencies, fractions, label=variant)
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on short ranges
        axis.set_xlabel("latency (ms, log)")
        axis.set_ylabel("fraction of round trips")
        axis.set_title(f"latency CDF, concurrency {concurrency:,}")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    throughput_axis = axes[2]
    for variant in plan.variants:
        points = sorted((c, row["throughput"]) for (v, c), row in summary.items() if v == variant)
        throughput_axis.plot(*zip(*points, strict=True), marker="o", label=variant)
    throughput_axis.set_xscale("log")
    throughput_axis.set_xlabel("concurrency (log)")
    throughput_axis.set_ylabel("round trips / s")
    throughput_axis.set_title("throughput vs concurrency")
    throughput_axis.grid(True, which="both", alpha=0.3)
    throughput_axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``bench.py [--smoke] [--out-dir DIR]`` or ``bench.py worker SPEC``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["worker"]:
        result = worker(Spec(**json.loads(argv[1])))
        print(json.dumps(result.__dict__))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        help="where to write the report (default: the repository; with --variants or "
        "--concurrency, nowhere: the report is printed)",
    )
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the harness")
    # Five: with three, one disturbed repeat moved a median ratio past a target (~15 min in all).
    parser.add_argument("--repeats", type=int, default=5, help="repeats of every measurement")
    parser.add_argument(
        "--scale-only",
        action="store_true",
        help="only the scale scenario and the memory of waits on one subject, each its own "
        "session: prints their sections and writes benchmarks-scale.png, not BENCHMARKS.md",
    )
    parser.add_argument(
        "--variants",
        type=lambda text: tuple(text.split(",")),
        help=f"only these variants' round trips and profiles (comma-separated, of {VARIANTS})",
    )
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(c) for c in text.split(",")],
        help="only round trips and profiles at these concurrencies (comma-separated)",
    )
    parser.add_argument(
        "--consumers-only",
        action="store_true",
        help="only the consumer groups (responses() against a hand-written JetStream pull "
        "consumer, 1/2/4 worker processes): prints their section",
    )
    options = parser.parse_args(argv)
    if options.consumers_only:
        consumers = measure_consumers(options.repeats, 500 if options.smoke else 5000)
        print("\n".join([*consumer_report(consumers), "", *consumer_targets(consumers)]))
        return 0
    if set(options.variants or ()) - set(VARIANTS):
        parser.error(f"unknown variants: {set(options.variants) - set(VARIANTS)}")
    if options.smoke:
        plan = Plan(
            [1, 10],
            repeats=1,
            pending=50,
            cold_repeats=1,
            profile=False,
            min_ops=40,
            scale_waits=20,
            scale_processes=(1, 2),
            scale_repeats=1,
            consumer_answers=500,
        )
    else:
        plan = Plan(
            [1, 10, 50, 100, 1000, 10_000],
            repeats=options.repeats,
            pending=10_000,
            cold_repeats=9,
            profile=True,
            min_ops=1000,
        )
    command = "scripts/bench.py --smoke" if options.smoke else "make bench"
    if not options.smoke and options.repeats != parser.get_default("repeats"):
        command += f" BENCH_ARGS='--repeats {options.repeats}'"
    partial = bool(options.variants or options.concurrency)
    if partial:  # a quick look at round trips: no other section, no flat profiles
        plan.variants = options.variants or plan.variants
        plan.concurrency = options.concurrency or plan.concurrency
        plan.sections, plan.profile = False, False
        command = shlex.join(["scripts/bench.py", *argv])
    started = time.perf_counter()
    data: dict[str, Any]
    if partial and options.out_dir is None:
        data = measure(plan)
        print(report(data, plan, command, time.perf_counter() - started))
        return 0
    options.out_dir = options.out_dir or ROOT
    options.out_dir.mkdir(parents=True, exist_ok=True)
    if options.scale_only:
        data = {"memory": []}
        measure_pending(plan, data, MEMORY_CASES[-1:])
        plot_scale(scale_summary(data["scale"]), options.out_dir / "benchmarks-scale.png")
        print("\n".join(memory_lines(data) + scale_report(data, scale_summary(data["scale"]))))
        log(f"measured in {time.perf_counter() - started:.0f} s")
        return 0
    data = measure(plan)
    (options.out_dir / "benchmarks.json").write_text(json.dumps(data))
    plot(data, plan, options.out_dir / "benchmarks.png")
    if data.get("scale"):
        plot_scale(scale_summary(data["scale"]), options.out_dir / "benchmarks-scale.png")
    text = report(data, plan, command, time.perf_counter() - started)
    (options.out_dir / "BENCHMARKS.md").write_text(text)
    log(f"wrote {options.out_dir / 'BENCHMARKS.md'} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
