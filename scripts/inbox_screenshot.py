"""``make inbox-screenshot`` (``python -m scripts.inbox_screenshot`` from the repository root):
the README's picture of the dev inbox, taken from a real run.

Starts the local stack with a silent simulated human, lets an application ask three questions,
answers one and rejects another on the page in headless Chromium (Debian's, as the browser
tests use), and saves a screenshot of the page as it then is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from session_client import SessionClient
from session_client.testing import LocalStack, SimulatedHuman
from tests.browser.chromium import launch

OUTPUT = Path(__file__).resolve().parents[1] / "inbox.png"
REFUND_TEMPLATE = {
    "type": "object",
    "properties": {
        "approved": {"type": "boolean", "default": True},
        "amount": {"type": "number", "minimum": 0},
        "note": {"type": "string"},
    },
}

DEPLOY_TEMPLATE = {
    "type": "object",
    "properties": {"approved": {"type": "boolean"}, "comment": {"type": "string"}},
}


def ask(client: SessionClient) -> None:
    """What an application would do: sessions and messages waiting for a human."""
    client.create_session("cleanup-7", {"bucket": "logs-2023"}, subject_id="ops")
    client.send_message("cleanup-7", "ops-chat", "Delete 1.2 TB of old logs?")
    client.create_session(
        "refund-9", {"order": 9, "amount": 42.5}, REFUND_TEMPLATE, subject_id="billing"
    )
    client.send_message("refund-9", "email", "Refund order 9 (42.50 EUR)?")
    client.create_session(
        "deploy-v42",
        {"service": "checkout", "version": "v42"},
        DEPLOY_TEMPLATE,
        subject_id="deploys",
    )
    client.send_message("deploy-v42", "ops-chat", "Deploy checkout v42 to production?")


def main() -> int:
    with (
        LocalStack(human=SimulatedHuman(silent=True)) as stack,
        SessionClient(stack.api_url, [stack.nats_url]) as client,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 760, "height": 940})
        page.goto(stack.inbox_url)
        ask(client)
        refund = page.locator('section[data-session="refund-9"]')
        refund.get_by_label("Answer (a JSON object; Ctrl+Enter sends)").fill(
            '{"approved": true, "amount": 42.5, "note": "customer kept the box"}'
        )
        refund.get_by_role("button", name="Send answer").click()
        expect(refund.locator("li .badge")).to_have_text("ANSWERED")
        page.get_by_role("button", name="Reject session cleanup-7").click()
        expect(page.locator('section[data-session="cleanup-7"] .session-head .badge')).to_have_text(
            "FAILED"
        )
        page.locator("#notice").evaluate("node => { node.textContent = '' }")
        page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")
        page.screenshot(path=str(OUTPUT), full_page=True)
        browser.close()
    print(f"{OUTPUT.name}: {OUTPUT.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
