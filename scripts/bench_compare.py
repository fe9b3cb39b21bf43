"""Compare a change before landing it: the floor, the library at a git revision and the working
tree's library, run interleaved against one local stack (``make bench``'s workers and stack).

    .venv/bin/python scripts/bench_compare.py --rev HEAD~1 --variant async --concurrency 10

Single ``make bench`` runs vary by several percent on a shared VM; interleaving the three, and
taking medians and ratios to the floor over several repeats, shows changes of a few percent.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

import bench

COLUMNS = ("throughput", "p50", "p99", "cpu")


def main() -> int:
    """Run the comparison; print one line per run and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD", help="the git revision to compare against")
    parser.add_argument("--variant", default="async", choices=tuple(bench.BACKEND_OF))
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ops", type=int, default=0, help="at least this many per run")
    parser.add_argument(
        "--telemetry",
        default="off",
        choices=bench.TELEMETRY,
        help="OpenTelemetry set-up of the working tree's client (see bench.py)",
    )
    options = parser.parse_args()
    # make bench's rule for operations per run (a whole number of rounds per caller).
    plan = bench.Plan(
        [options.concurrency],
        repeats=options.repeats,
        pending=0,
        cold_repeats=0,
        profile=False,
        min_ops=options.ops or 1000,
    )
    ops = plan.ops(options.concurrency)
    with bench.checkout(options.rev) as base:
        runs = compare(
            options.variant, options.concurrency, ops, options.repeats, base, options.telemetry
        )
    floor = {name: statistics.median(row[name] for row in runs["floor"]) for name in COLUMNS}
    for label, rows in runs.items():
        cells = []
        for name in COLUMNS:
            value = statistics.median(row[name] for row in rows)
            cells.append(f"{name} {value:.4g} ({value / floor[name]:.3f}x)")
        print(f"median {label:>8}: " + "  ".join(cells))
    return 0


def compare(
    variant: str, concurrency: int, ops: int, repeats: int, base: Path, telemetry: str
) -> dict[str, list[dict[str, float]]]:
    """``repeats`` rounds of floor, ``base``'s client and the working tree's client (with
    OpenTelemetry set up as ``telemetry`` says)."""
    contenders = {
        "floor": (bench.FLOOR_OF[variant], bench.ROOT),
        "base": (variant, base),
        "new": (variant, bench.ROOT),
    }
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in contenders}
    with bench.local_stack() as urls:
        asyncio.run(bench.create_sessions(urls["api_url"], concurrency))
        for repeat in range(repeats):
            for label, (name, tree) in contenders.items():
                spec = bench.Spec(name, concurrency, ops, urls["api_url"], urls["nats_url"])
                if label == "new":
                    spec.telemetry = telemetry
                stats = bench.run_stats(bench.run_worker(spec, tree).__dict__)
                stats["p50"], stats["p99"], stats["cpu"] = (
                    stats["p50"] * 1e3,
                    stats["p99"] * 1e3,
                    stats["cpu"] * 1e3,
                )
                runs[label].append(stats)
                print(
                    f"repeat {repeat} {label:>5} x{concurrency}: {stats['throughput']:.1f} ops/s, "
                    f"p50 {stats['p50']:.2f} ms, p99 {stats['p99']:.2f} ms, "
                    f"cpu {stats['cpu']:.3f} ms/op",
                    flush=True,
                )
    return runs


if __name__ == "__main__":
    sys.exit(main())
