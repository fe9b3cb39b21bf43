"""The dev inbox in real headless Chromium: the developer answers as the human, and the waiting
application gets what the page sent, over NATS like any channel's answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from session_client import SessionClient, SessionExpiredError, SessionRejectedError
from session_client.testing import LocalStack, SimulatedHuman

pytestmark = pytest.mark.integration

EDITOR_LABEL = "Answer (a JSON object; Ctrl+Enter sends)"
WAIT = 30.0


@pytest.fixture
def app() -> Iterator[ThreadPoolExecutor]:
    """Threads where the application waits for the human, as it would in production."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


def wait_in_app(
    app: ThreadPoolExecutor,
    client: SessionClient,
    session_id: str,
    message: str,
    message_id: str | None = None,
) -> Future[dict[str, Any]]:
    return app.submit(
        client.send_and_wait_for_response,
        session_id,
        "chat",
        message,
        "inbox",
        WAIT,
        message_id=message_id,
    )


def open_inbox(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#live")).to_have_text("Live")
    page.evaluate("window.loadedOnce = true")  # gone if the page ever reloads


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.loadedOnce") is True


def card(page: Page, session_id: str) -> Locator:
    return page.locator(f'section[data-session="{session_id}"]')


def message_item(page: Page, session_id: str, text: str) -> Locator:
    return (
        card(page, session_id)
        .locator("li.message")
        .filter(has=page.locator(".message-text", has_text=text))
    )


def test_the_waiting_application_gets_exactly_the_answer_typed_on_the_page(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient, app: ThreadPoolExecutor
) -> None:
    open_inbox(page, silent_stack.inbox_url)
    silent_client.create_session("inbox-typed", message_data={"order": 9}, subject_id="inbox")
    waiting = wait_in_app(app, silent_client, "inbox-typed", "Refund order 9?")

    item = message_item(page, "inbox-typed", "Refund order 9?")
    expect(item.locator(".badge")).to_have_text("SENT")  # shown live, without a reload
    expect(card(page, "inbox-typed").locator("pre").first).to_contain_text('"order": 9')
    typed = {"approved": True, "note": "typed in the inbox", "amount": 12.5, "tags": ["a"]}
    item.get_by_label(EDITOR_LABEL).fill(json.dumps(typed))
    item.get_by_role("button", name="Send answer").click()

    answer = waiting.result(timeout=WAIT)
    assert answer["response"] == typed
    expect(item.locator(".badge")).to_have_text("ANSWERED")
    expect(item.locator("pre")).to_contain_text('"note": "typed in the inbox"')
    assert_not_reloaded(page)


def test_the_template_prefills_the_editor_and_its_422_is_shown_inline(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient, app: ThreadPoolExecutor
) -> None:
    template = {
        "type": "object",
        "properties": {
            "approved": {"type": "boolean"},
            "reason": {"type": "string", "default": "fine by me"},
        },
        "required": ["approved", "reason"],
        "additionalProperties": False,
    }
    silent_client.create_session(
        "inbox-template", {"approved": False, "reason": "pending"}, template, subject_id="inbox"
    )
    open_inbox(page, silent_stack.inbox_url)
    waiting = wait_in_app(app, silent_client, "inbox-template", "Ship it?")
    item = message_item(page, "inbox-template", "Ship it?")
    editor, error = item.get_by_label(EDITOR_LABEL), item.get_by_role("alert")
    expect(editor).to_be_visible()
    assert json.loads(editor.input_value()) == {"approved": False, "reason": "fine by me"}

    # Checked in the page first: nothing is sent.
    editor.fill('{"approved": tru')
    item.get_by_role("button", name="Send answer").click()
    expect(error).to_contain_text("Not valid JSON")
    editor.fill("[true]")
    editor.press("Control+Enter")
    expect(error).to_contain_text("The answer must be a JSON object")

    # The server's 422 against the template, inline under the editor.
    editor.fill('{"approved": "yes", "reason": "ok"}')
    item.get_by_role("button", name="Send answer").click()
    expect(error).to_contain_text("response does not match message_data_template")
    expect(error).to_contain_text("/response/approved: 'yes' is not of type 'boolean'")
    expect(editor).to_have_attribute("aria-invalid", "true")
    item.get_by_role("button", name="Approve").click()  # {"approved": true} lacks the reason
    expect(error).to_contain_text("/response: 'reason' is a required property")
    message_id = item.get_attribute("data-message")
    assert message_id is not None
    assert silent_client.get_message("inbox-template", message_id)["state"] == "SENT"
    assert not waiting.done()

    editor.fill('{"approved": true, "reason": "checked"}')
    item.get_by_role("button", name="Send answer").click()
    assert waiting.result(timeout=WAIT)["response"] == {"approved": True, "reason": "checked"}
    expect(item.locator(".badge")).to_have_text("ANSWERED")


def test_reject_on_the_page_raises_session_rejected_error_in_the_waiter(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient, app: ThreadPoolExecutor
) -> None:
    open_inbox(page, silent_stack.inbox_url)
    silent_client.create_session("inbox-reject", subject_id="inbox")
    waiting = wait_in_app(app, silent_client, "inbox-reject", "Delete the database?")
    item = message_item(page, "inbox-reject", "Delete the database?")
    expect(item.locator(".badge")).to_have_text("SENT")

    page.get_by_role("button", name="Reject session inbox-reject").click()
    with pytest.raises(SessionRejectedError):
        waiting.result(timeout=WAIT)
    expect(card(page, "inbox-reject").locator(".session-head .badge")).to_have_text("FAILED")
    expect(item.locator(".badge")).to_have_text("CANCELLED")
    expect(page.locator("#notice")).to_have_text("Rejected inbox-reject: it is FAILED.")


def test_a_message_sent_after_the_page_loaded_appears_live(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient
) -> None:
    silent_client.create_session("inbox-later", subject_id="inbox")
    silent_client.create_session("inbox-newer", subject_id="inbox")
    open_inbox(page, silent_stack.inbox_url)
    expect(card(page, "inbox-later")).to_contain_text("No messages yet.")

    first = silent_client.send_message("inbox-later", "chat", "First question?")
    first_item = message_item(page, "inbox-later", "First question?")
    expect(first_item.locator(".badge")).to_have_text("SENT")
    # A session awaiting an answer comes before newer ones that are not.
    sessions = page.locator("section.session")
    expect(sessions.first).to_have_attribute("data-session", "inbox-later")

    # A draft being typed survives the next live update of its session.
    editor = first_item.get_by_label(EDITOR_LABEL)
    editor.fill('{"approved": false, "draft": ')
    editor.focus()
    silent_client.send_message("inbox-later", "chat", "Second question?")
    expect(message_item(page, "inbox-later", "Second question?")).to_be_visible()
    expect(editor).to_have_value('{"approved": false, "draft": ')
    expect(editor).to_be_focused()

    first_item.get_by_role("button", name="Decline").click()
    expect(first_item.locator(".badge")).to_have_text("ANSWERED")
    answered = silent_client.get_message("inbox-later", first["message_id"])
    assert answered["response"] == {"approved": False}
    assert_not_reloaded(page)


def test_trigger_expiry_ends_the_wait_of_an_overdue_session(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient, app: ThreadPoolExecutor
) -> None:
    silent_client.create_session(
        "inbox-overdue", expiry_date=int(time.time()) - 1, subject_id="inbox"
    )
    open_inbox(page, silent_stack.inbox_url)
    waiting = wait_in_app(app, silent_client, "inbox-overdue", "Still there?")
    expect(message_item(page, "inbox-overdue", "Still there?")).to_be_visible()
    expect(card(page, "inbox-overdue")).to_contain_text("(overdue)")

    page.get_by_role("button", name="Trigger expiry").click()
    with pytest.raises(SessionExpiredError):
        waiting.result(timeout=WAIT)
    expect(page.locator("#notice")).to_have_text("Expired 1 session(s): inbox-overdue.")
    expect(card(page, "inbox-overdue").locator(".session-head .badge")).to_have_text("EXPIRED")


def test_keyboard_alone_on_a_narrow_window(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient, app: ThreadPoolExecutor
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    silent_client.create_session("inbox-keys", message_data={"note": "x" * 300}, subject_id="inbox")
    open_inbox(page, silent_stack.inbox_url)
    # An id as long as the library's own (msg_ and 32 hex digits) and more: no break in it, so
    # every line that shows it must wrap it (the "Answered ..." notice once did not).
    long_id = "msg_" + "0123456789abcdef" * 4
    waiting = wait_in_app(app, silent_client, "inbox-keys", "Answer me with the keyboard?", long_id)
    item = message_item(page, "inbox-keys", "Answer me with the keyboard?")
    editor = item.get_by_label(EDITOR_LABEL)
    expect(editor).to_be_visible()

    for _ in range(30):  # Tab through the page until the editor has the focus
        page.keyboard.press("Tab")
        if editor.evaluate("node => node === document.activeElement"):
            break
    expect(editor).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type('{"approved": true, "via": "keyboard"}')
    page.keyboard.press("Control+Enter")
    assert waiting.result(timeout=WAIT)["response"] == {"approved": True, "via": "keyboard"}

    # Readable at 360 px once the answer shows (its notice, then the live update): nothing
    # scrolls sideways. Every control has a name.
    expect(page.locator("#notice")).to_have_text(f"Answered {long_id} in inbox-keys.")
    expect(item.locator(".badge")).to_have_text("ANSWERED")
    width, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= window, f"the page scrolls sideways: {width} px wide in {window} px"
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll("button, textarea, input")].filter((control) =>
            !(control.getAttribute("aria-label") || control.textContent.trim() ||
              (control.id && document.querySelector(`label[for="${control.id}"]`))))
            .map((control) => control.outerHTML)"""
    )
    assert unnamed == []


def test_with_an_api_token_the_page_needs_the_token(page: Page) -> None:
    with (
        LocalStack(api_token="inbox-secret", human=SimulatedHuman(silent=True)) as stack,
        SessionClient(stack.api_url, [stack.nats_url], api_key="inbox-secret") as client,
        ThreadPoolExecutor(max_workers=1) as app,
    ):
        client.create_session("inbox-locked", subject_id="inbox")
        waiting = wait_in_app(app, client, "inbox-locked", "Behind the token?")
        page.goto(stack.inbox_url)
        expect(page.locator("#live")).to_have_text("Locked: this stack needs its API token.")
        expect(page.get_by_label("API token")).to_be_focused()
        expect(page.locator("section.session")).to_have_count(0)

        page.get_by_label("API token").fill("not-the-token")
        page.get_by_role("button", name="Unlock").click()
        expect(page.locator("#token-error")).to_have_text("That token was refused.")
        expect(page.locator("section.session")).to_have_count(0)

        page.get_by_label("API token").fill("inbox-secret")
        page.get_by_label("API token").press("Enter")
        item = message_item(page, "inbox-locked", "Behind the token?")
        item.get_by_role("button", name="Approve").click()
        assert waiting.result(timeout=WAIT)["response"] == {"approved": True}
