"""Debian's chromium under Playwright, for the browser tests and ``make inbox-screenshot``.

Playwright's own browser download is not used (nor reachable everywhere): the Makefile installs
the system's ``chromium`` package.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Playwright

CHROMIUM = "/usr/bin/chromium"
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Playwright) -> Browser:
    """Start headless chromium."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
