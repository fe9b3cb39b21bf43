"""The arithmetic of ``scripts/bench_instructions.py`` (no valgrind, no servers)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"

# What valgrind's cachegrind writes to stderr at the end of a run without cache simulation.
SUMMARY = """==4079== Cachegrind, a cache and branch-prediction profiler
==4079== Command: python bench.py worker {}
worker output on stderr
==4079==
==4079== I   refs:      5,355,269,098
"""


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(SCRIPTS))  # the scripts import each other by name
    return importlib.import_module("bench_instructions")


def test_the_count_is_read_from_the_summary(counting: ModuleType) -> None:
    assert counting.instructions(SUMMARY) == 5_355_269_098


def test_output_without_a_summary_is_an_error_not_a_zero(counting: ModuleType) -> None:
    with pytest.raises(ValueError, match="I refs"):
        counting.instructions("==1== Command: python\nTraceback (most recent call last):\n")


def test_start_up_cancels_out_of_two_runs(counting: ModuleType) -> None:
    start_up, per_trip = 3_000_000_000, 930_000
    counts = {3000: start_up + 3000 * per_trip, 1000: start_up + 1000 * per_trip}
    assert counting.per_round_trip(counts) == per_trip


@pytest.mark.parametrize("counts", [{1000: 5}, {1000: 5, 2000: 7, 3000: 9}])
def test_anything_but_two_run_sizes_is_an_error(
    counting: ModuleType, counts: dict[int, int]
) -> None:
    with pytest.raises(ValueError, match="two different numbers"):
        counting.per_round_trip(counts)
