"""``make test-matrix``: the suite on every CPython that pyproject.toml's classifiers name, each
with the oldest and with the newest nats-py and httpx that its dependencies allow.

A supported version with no interpreter on this machine fails the run (it would not be tested).
"""

from __future__ import annotations

import os

import nox

from scripts.pythons import find, supported_versions

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

VERSIONS = supported_versions()
# nox looks for python3.X on the PATH, where a pyenv shim may stand for a version it does not
# run: the interpreters found go first.
_FOUND = [os.path.dirname(path) for version in VERSIONS if (path := find(version))]
os.environ["PATH"] = os.pathsep.join([*_FOUND, os.environ["PATH"]])

#: The lower bounds of pyproject.toml's nats-py and httpx, also what `make test` checks.
OLDEST = "tests/oldest-deps.txt"


@nox.session(python=VERSIONS)
@nox.parametrize("deps", ["oldest", "newest"])
def tests(session: nox.Session, deps: str) -> None:
    """The whole pytest suite (arguments after ``--`` go to pytest)."""
    if deps == "oldest":
        session.install("-e", ".[dev]", "-c", OLDEST)
    else:
        session.install("--upgrade", "--upgrade-strategy", "eager", "-e", ".[dev]")
    session.run("python", "scripts/pythons.py", "--installed")
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)
