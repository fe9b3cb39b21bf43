"""Real headless Chromium (Debian's, installed by the Makefile) driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from .chromium import CHROMIUM, launch


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module's tests."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make pytest` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A new page (own context: no shared storage), closed after the test."""
    context = browser.new_context(viewport={"width": 900, "height": 700})
    yield context.new_page()
    context.close()
