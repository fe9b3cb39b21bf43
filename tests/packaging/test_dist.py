"""``make dist``: the sdist and the wheel as an index would get them, licensed and checked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
LICENSE_START = "Apache License\n                           Version 2.0, January 2004"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output of a real ``make dist``, with the toolchain of the venv running the tests."""
    if shutil.which("make") is None:
        pytest.skip("needs make")
    out = tmp_path_factory.mktemp("dist")
    venv, python = Path(sys.prefix), Path(sys.executable)
    # This venv is ready: -o keeps make from reinstalling it (the stamp a venv target would
    # write), whichever of the project's venvs runs the suite.
    stamp = venv / f".installed-{python.name}"
    subprocess.run(
        ["make", "dist", f"VENV={venv}", f"PYTHON={python}", f"DIST={out}", "-o", str(stamp)],
        cwd=CHECKOUT,
        check=True,
        timeout=300,
        # As typed in a shell, not under an outer make.
        env={k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}},
    )
    return out


def test_the_repository_has_the_apache_license() -> None:
    text = (CHECKOUT / "LICENSE").read_text()
    assert LICENSE_START in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_make_dist_builds_an_sdist_and_a_wheel_that_ship_the_license(dist: Path) -> None:
    (wheel,) = dist.glob("session_client_lib-0.1.0-py3-none-any.whl")
    (sdist,) = dist.glob("session_client_lib-0.1.0.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        license_text = archive.read("session_client_lib-0.1.0.dist-info/licenses/LICENSE")
    assert LICENSE_START in license_text.decode()
    with tarfile.open(sdist) as archive:
        member = archive.extractfile("session_client_lib-0.1.0/LICENSE")
        assert member is not None
        assert LICENSE_START in member.read().decode()


def test_the_metadata_names_the_license_file_and_the_project_urls(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read("session_client_lib-0.1.0.dist-info/METADATA").decode()
    metadata = HeaderParser().parsestr(raw)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert {"Source", "Documentation", "Changelog", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
