"""``make inbox-screenshot`` (``python -m scripts.inbox_screenshot`` from the repository root):
the README's picture of the dev inbox, taken from a real run.

Starts the local stack with a silent simulated human, lets an application ask three questions
(two with a response schema, which the page renders as a form), answers one and rejects another
on the page in headless Chromium (Debian's, as the browser tests use), and saves a screenshot of
the page as it then is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from session_client import SessionClient
from session_client.testing import LocalStack, SimulatedHuman
from tests.browser.chromium import launch

OUTPUT = Path(__file__).resolve().parents[1] / "inbox.png"
#: The answers the application asks for (approve-with-edits: the proposal's fields, defaulted).
REFUND_SCHEMA = {
    "type": "object",
    "required": ["approved", "amount"],
    "properties": {
        "approved": {"type": "boolean"},
        "amount": {"type": "number", "minimum": 0, "default": 42.5},
        "note": {"type": "string"},
    },
}
DEPLOY_SCHEMA = {
    "type": "object",
    "required": ["approved", "rollout"],
    "properties": {
        "approved": {"type": "boolean"},
        "rollout": {"enum": ["canary", "everywhere"], "default": "canary"},
        "comment": {"type": "string", "default": ""},
    },
}


def ask(client: SessionClient) -> None:
    """What an application would do: sessions and messages waiting for a human."""
    client.create_session("cleanup-7", {"bucket": "logs-2023"}, subject_id="ops")
    client.send_message("cleanup-7", "ops-chat", "Delete 1.2 TB of old logs?")
    client.create_session("refund-9", {"order": 9, "amount": 42.5}, subject_id="billing")
    client.send_message(
        "refund-9", "email", "Refund order 9 (42.50 EUR)?", response_schema=REFUND_SCHEMA
    )
    client.create_session(
        "deploy-v42", {"service": "checkout", "version": "v42"}, subject_id="deploys"
    )
    client.send_message(
        "deploy-v42",
        "ops-chat",
        "Deploy checkout v42 to production?",
        response_schema=DEPLOY_SCHEMA,
    )


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
        refund.get_by_role("button", name="Approve").click()
        refund.get_by_label("note").fill("customer kept the box")
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
