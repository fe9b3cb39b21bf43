"""Which transport a client given none gets: aiohttp's only where a version it works with is
installed (another package may bring an older one)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from session_client import _transport

PYPROJECT = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_transport, "backend", None)
    yield


@pytest.mark.parametrize(
    ("installed", "expected"),
    [("3.9.5", "httpx"), ("3.10.11", "httpx"), ("3.11.0", "aiohttp"), ("3.14.5", "aiohttp")],
)
def test_aiohttp_is_the_default_only_from_the_oldest_supported_version(
    monkeypatch: pytest.MonkeyPatch, installed: str, expected: str
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(importlib.metadata, "version", lambda name: installed)
    assert _transport.default_backend() == expected


def test_the_oldest_supported_version_is_the_extras_lower_bound() -> None:
    (requirement,) = PYPROJECT["project"]["optional-dependencies"]["aiohttp"]
    found = re.search(r">=(\d+)\.(\d+)", requirement)
    assert found is not None
    assert (int(found[1]), int(found[2])) == _transport.AIOHTTP_OLDEST
