"""What pyproject.toml says is supported is what `make test` and `make test-matrix` run."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from scripts.pythons import supported_versions

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_classifiers_name_the_pythons_from_requires_python_on() -> None:
    versions = supported_versions()
    assert versions, "no 'Programming Language :: Python :: 3.X' classifier"
    requires = SpecifierSet(PROJECT["requires-python"])
    assert versions[0] in requires
    assert f"3.{int(versions[0].split('.')[1]) - 1}" not in requires  # the oldest is the floor
    minors = [int(version.split(".")[1]) for version in versions]
    assert minors == list(range(minors[0], minors[-1] + 1))  # no gap left untested


def test_the_oldest_deps_are_the_lower_bounds_of_the_dependencies() -> None:
    pins = {
        (requirement := Requirement(line)).name: str(requirement.specifier)
        for line in (ROOT / "tests/oldest-deps.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    # The dependencies, and the extras of the other HTTP backends.
    extras = PROJECT["optional-dependencies"]
    requirements = [*PROJECT["dependencies"], *extras["aiohttp"], *extras["httpx2"]]
    lower_bounds = {
        requirement.name: Version(spec.version)
        for requirement in map(Requirement, requirements)
        for spec in requirement.specifier
        if requirement.name in pins and spec.operator == ">="
    }
    assert set(pins) == set(lower_bounds) == {"nats-py", "httpx", "aiohttp", "httpx2"}
    for name, pin in pins.items():
        assert pin.startswith("==") and Version(pin[2:]) == lower_bounds[name], name
