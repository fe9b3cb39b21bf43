"""Instructions per round trip: the library and its floor, counted by valgrind, not timed.

    .venv/bin/python scripts/bench_instructions.py --concurrency 1,50
    .venv/bin/python scripts/bench_instructions.py --variants async-aiohttp --rev HEAD~1

On this VM the CPU time of the same round trip moves by 10-30% between runs (``make bench``'s
per-repeat ratios at x50 ran 1.16-1.44x), so a change of a few percent cannot be seen in it.
The user-space instructions a worker process executes do not move that way: valgrind's
cachegrind counts them, the same to about 1% from run to run. Each count is the difference of
two runs of ``make bench``'s worker (``ops`` round trips after its warm-up, and three times
as many), so start-up and warm-up cancel out. What it leaves out: the kernel's work (system
calls, about a tenth of the CPU time at x50) and what a cache miss or a stall costs; and
under valgrind the client runs about 25 times slower than the server, so its queues and
batches are not a real run's. Compare two trees of the library on one variant with it (a
smaller count is less work); how much faster that is, and the ratios to the floors, only
``make bench`` says.

Needs ``valgrind`` (``apt-get install valgrind``); a worker runs about 25 times slower under it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import bench

# valgrind's summary line: "==123== I   refs:      5,355,269,098"
_REFS = re.compile(r"^==\d+== I\s+refs:\s+([\d,]+)\s*$", re.MULTILINE)
# Counts only, no cache simulation; the same hash seed in every worker: dict and set layouts,
# and so their probing, are then alike from run to run.
_CACHEGRIND = ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null")
_SEED = {"PYTHONHASHSEED": "0"}


def instructions(valgrind_stderr: str) -> int:
    """The instructions valgrind counted for the process whose stderr this is."""
    match = _REFS.search(valgrind_stderr)
    if match is None:
        raise ValueError("no 'I refs' summary in valgrind's output")
    return int(match.group(1).replace(",", ""))


def per_round_trip(counts: Mapping[int, int]) -> float:
    """Instructions per round trip from the counts of two runs ``{round trips: instructions}``
    that differ only in their number of round trips."""
    if len(counts) != 2:
        raise ValueError(f"two different numbers of round trips are needed, not {list(counts)}")
    (fewer, few_count), (more, more_count) = sorted(counts.items())
    return (more_count - few_count) / (more - fewer)


def counted(spec: bench.Spec, tree: Path) -> int:
    """The instructions of one worker process measuring ``spec`` with ``tree``'s library."""
    command, env = bench.worker_command(spec, tree)
    out = subprocess.run(
        [*_CACHEGRIND, *command],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**(env or os.environ), **_SEED},
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {spec} failed under valgrind:\n{out.stderr[-4000:]}")
    return instructions(out.stderr)


def measure(
    contenders: Mapping[str, tuple[str, Path]], concurrency: int, ops: int, urls: Mapping[str, Any]
) -> dict[str, float]:
    """Instructions per round trip of each contender ``{label: (variant, tree)}`` at
    ``concurrency`` against the stack at ``urls``, from runs of ``ops`` and ``3 * ops`` round
    trips."""
    rounds = -(-ops // concurrency)
    sizes = (rounds * concurrency, 3 * rounds * concurrency)
    result = {}
    for label, (variant, tree) in contenders.items():
        counts = {
            size: counted(
                bench.Spec(variant, concurrency, size, urls["api_url"], urls["nats_url"]), tree
            )
            for size in sizes
        }
        result[label] = per_round_trip(counts)
    return result


def main() -> int:
    """Count, and print one line per variant and concurrency."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="async-aiohttp,async,async-httpx2")
    parser.add_argument("--concurrency", default="1,50")
    parser.add_argument("--ops", type=int, default=500, help="round trips of the shorter run")
    parser.add_argument("--rev", help="also count the library at this git revision")
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    concurrencies = [int(concurrency) for concurrency in options.concurrency.split(",")]
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(bench.checkout(options.rev)) if options.rev else None
        urls = stack.enter_context(bench.local_stack())
        asyncio.run(bench.create_sessions(urls["api_url"], max(concurrencies)))
        for variant in options.variants.split(","):
            floor = bench.FLOOR_OF[variant]
            contenders = {floor: (floor, bench.ROOT), variant: (variant, bench.ROOT)}
            if base is not None:
                contenders[f"{variant}@{options.rev}"] = (variant, base)
            for concurrency in concurrencies:
                counts = measure(contenders, concurrency, options.ops, urls)
                print(
                    f"x{concurrency}: "
                    + ", ".join(
                        f"{label} {count:,.0f} ({count / counts[floor]:.3f}x)"
                        for label, count in counts.items()
                    )
                    + " instructions per round trip",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
