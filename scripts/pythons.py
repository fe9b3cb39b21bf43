"""The CPython versions this project says it supports, and where each one is on this machine.

pyproject.toml's ``Programming Language :: Python :: 3.X`` classifiers are the list: ``make
test-matrix`` (noxfile.py) runs the suite on every one of them, and ``make test`` on the oldest
and the newest, so the classifiers say exactly what is tested. An interpreter is ``python3.X``
from one of pyenv's versions, else from the PATH. Any ``python3`` can run this (the Makefile
asks it before a venv exists), so it reads pyproject.toml without ``tomllib``.

    python3 scripts/pythons.py --newest     # the newest supported interpreter found (or nothing)
    python3 scripts/pythons.py --oldest
    python scripts/pythons.py --installed   # the interpreter, its nats-py, httpx and aiohttp
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_CLASSIFIER = re.compile(r'"Programming Language :: Python :: 3\.(\d+)"')


def supported_versions() -> list[str]:
    """``["3.11", ...]`` from the classifiers, oldest first."""
    minors = {int(minor) for minor in _CLASSIFIER.findall((ROOT / "pyproject.toml").read_text())}
    return [f"3.{minor}" for minor in sorted(minors)]


def _version_key(directory: Path) -> tuple[int, ...]:
    """pyenv's ``3.12.10`` after ``3.12.9``; names that are not versions first."""
    return tuple(int(part) for part in re.findall(r"\d+", directory.name))


def search_path() -> str:
    """pyenv's interpreters, newest patch first, then the PATH (whose pyenv shims fail for
    versions not selected)."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    versions = sorted(pyenv.glob("3.*"), key=_version_key, reverse=True) if pyenv.is_dir() else []
    return os.pathsep.join([*(str(version / "bin") for version in versions), os.environ["PATH"]])


def find(version: str) -> str | None:
    """The path of a working ``python{version}``, or None (pyenv's shims name versions that
    are installed but not selected: they are skipped by running each candidate)."""
    for directory in search_path().split(os.pathsep):
        candidate = shutil.which(f"python{version}", path=directory)
        if candidate and _runs(candidate, version):
            return candidate
    return None


def _runs(interpreter: str, version: str) -> bool:
    check = f"import sys; sys.exit(sys.version_info[:2] != {tuple(map(int, version.split('.')))})"
    return subprocess.run([interpreter, "-c", check], capture_output=True).returncode == 0


def installed() -> str:
    """What a test run runs on: ``Python 3.13.0 nats-py 2.16.0 httpx 0.28.1 aiohttp 3.14.5``
    (``no aiohttp``: the tests of aiohttp's transport are skipped)."""
    from importlib.metadata import PackageNotFoundError, version

    packages = [f"{name} {version(name)}" for name in ("nats-py", "httpx")]
    try:
        packages.append(f"aiohttp {version('aiohttp')}")
    except PackageNotFoundError:
        packages.append("no aiohttp")
    return " ".join([f"Python {sys.version.split()[0]}", *packages])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--oldest", action="store_true")
    choice.add_argument("--newest", action="store_true")
    choice.add_argument("--installed", action="store_true")
    options = parser.parse_args()
    if options.installed:
        print(installed())
        return
    # The first found from the wanted end: each candidate costs an interpreter start.
    versions = supported_versions()
    for version in versions if options.oldest else reversed(versions):
        if path := find(version):
            print(path)
            return


if __name__ == "__main__":
    main()
