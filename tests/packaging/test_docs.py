"""``make docs``: the HTML API reference from the docstrings, and the README as a guide that
links to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.packaging.make import CHECKOUT, run_make

README = (CHECKOUT / "README.md").read_text()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output of a real ``make docs`` (strict: a warning fails it)."""
    out = tmp_path_factory.mktemp("site")
    run_make("docs", SITE=str(out))
    return out


def text_of(page: Path) -> str:
    return re.sub(r"<[^>]+>", "", page.read_text())


@pytest.mark.parametrize(
    ("page", "fragments"),
    [
        # Each with a sentence of a docstring, not only the names.
        ("clients", ["send_and_wait_for_response", "Listens before sending", "AsyncSessionClient"]),
        (
            "errors",
            ["ResponseTimeoutError", "the NATS subject the client listened on", "NotFoundError"],
        ),
        ("testing", ["LocalStack", "answer_next", "sync_session_client"]),
        ("cli", ["ExitCode", "TIMED_OUT"]),
    ],
)
def test_the_reference_documents_the_api_from_its_docstrings(
    site: Path, page: str, fragments: list[str]
) -> None:
    text = " ".join(text_of(site / page / "index.html").split())
    for fragment in fragments:
        assert fragment in text, f"{page}: {fragment!r}"


def test_make_test_builds_the_reference() -> None:
    (prerequisites,) = re.findall(r"^test: (.*)$", (CHECKOUT / "Makefile").read_text(), re.M)
    assert "docs" in prerequisites.split()


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_the_readme_opens_with_a_table_of_contents_and_links_the_reference() -> None:
    head = README[: README.index("\n## ")]
    assert "**Contents**" in head
    links = re.findall(r"\]\(#([^)]+)\)", head.split("**Contents**")[1])
    sections = re.findall(r"^##+ (.+)$", README, re.M)
    assert [anchor(section) for section in sections] == links
    assert "[API reference](#api-reference)" in head.split("**Contents**")[0]
    assert "make docs" in README[README.index("## API reference") :].split("\n## ")[0]
