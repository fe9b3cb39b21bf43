"""``make dist``: the sdist and the wheel as an index would get them, licensed and checked."""

from __future__ import annotations

import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

from tests.packaging.make import CHECKOUT, run_make
from tests.test_readme import readme_blocks

LICENSE_START = "Apache License\n                           Version 2.0, January 2004"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output of a real ``make dist``."""
    out = tmp_path_factory.mktemp("dist")
    run_make("dist", DIST=str(out))
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


def test_the_readme_installs_the_wheel_make_dist_builds(dist: Path) -> None:
    install = [
        block.code
        for block in readme_blocks()
        if block.kind == "sh terminal" and block.code.startswith("make dist\n")
    ]
    (commands,) = install
    (wheel,) = dist.glob("*.whl")
    assert f"pip install 'dist/{wheel.name}[testing]'" in commands
