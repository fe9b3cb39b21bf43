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
    silent_client.create_session("inbox-refund-form", message_data={"order": 9}, subject_id="inbox")
    waiting = wait_in_app(app, silent_client, "inbox-refund-form", "Refund order 9?")

    item = message_item(page, "inbox-refund-form", "Refund order 9?")
    expect(item.locator(".badge")).to_have_text("SENT")  # shown live, without a reload
    expect(card(page, "inbox-refund-form").locator("pre").first).to_contain_text('"order": 9')
    typed = {"approved": True, "note": "typed in the inbox", "amount": 12.5, "tags": ["a"]}
    item.get_by_label(EDITOR_LABEL).fill(json.dumps(typed))
    item.get_by_role("button", name="Send answer").click()

    answer = waiting.result(timeout=WAIT)
    assert answer["response"] == typed
    expect(item.locator(".badge")).to_have_text("ANSWERED")
    expect(item.locator("pre")).to_contain_text('"note": "typed in the inbox"')
    assert_not_reloaded(page)


def test_without_a_schema_the_raw_editor_starts_empty_not_from_the_data_template(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient, app: ThreadPoolExecutor
) -> None:
    template = {
        "type": "object",
        "properties": {"service": {"type": "string"}, "version": {"type": "string"}},
        "required": ["service", "version"],
    }
    silent_client.create_session(
        "inbox-template", {"service": "db", "version": "2"}, template, subject_id="inbox"
    )
    open_inbox(page, silent_stack.inbox_url)
    waiting = wait_in_app(app, silent_client, "inbox-template", "Ship it?")
    item = message_item(page, "inbox-template", "Ship it?")
    editor, error = item.get_by_label(EDITOR_LABEL), item.get_by_role("alert")
    expect(editor).to_be_visible()
    expect(editor).to_have_value("")  # the data template describes the data, not the answer

    # Checked in the page first: nothing is sent.
    editor.fill('{"approved": tru')
    item.get_by_role("button", name="Send answer").click()
    expect(error).to_contain_text("Not valid JSON")
    editor.fill("[true]")
    editor.press("Control+Enter")
    expect(error).to_contain_text("The answer must be a JSON object")
    expect(editor).to_have_attribute("aria-invalid", "true")
    message_id = item.get_attribute("data-message")
    assert message_id is not None
    assert silent_client.get_message("inbox-template", message_id)["state"] == "SENT"
    assert not waiting.done()

    # Any object is an answer: the template does not check it.
    editor.fill('{"approved": true, "reason": "checked"}')
    item.get_by_role("button", name="Send answer").click()
    assert waiting.result(timeout=WAIT)["response"] == {"approved": True, "reason": "checked"}
    expect(item.locator(".badge")).to_have_text("ANSWERED")


REFUND_SCHEMA = {
    "type": "object",
    "required": ["approved", "reason", "amount"],
    "additionalProperties": False,
    "properties": {
        "approved": {"type": "boolean", "title": "Refund it?"},
        "reason": {"enum": ["damaged", "late"], "description": "Why"},
        "amount": {"type": "number", "minimum": 0, "default": 40},
        "note": {"type": "string", "default": "as proposed"},
        "tags": {"type": "array", "items": {"type": "string"}, "default": ["refund"]},
        "contact": {
            "type": "object",
            "properties": {"name": {"type": "string", "default": "Ann"}},
        },
    },
}


def tab_to(page: Page, data_key: str) -> None:
    """Press Tab until the control named ``data_key`` has the focus (keyboard alone)."""
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.key") == data_key:
            return
    raise AssertionError(f"Tab never reached {data_key}")


def test_a_schema_renders_a_form_answered_by_keyboard_in_a_narrow_window(
    browser: Any, silent_stack: LocalStack, silent_client: SessionClient, app: ThreadPoolExecutor
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    try:
        silent_client.create_session("inbox-form", subject_id="inbox")
        open_inbox(page, silent_stack.inbox_url)
        waiting = app.submit(
            silent_client.send_and_wait_for_response,
            "inbox-form", "chat", "Refund order 9?", "inbox", WAIT,
            response_schema=REFUND_SCHEMA,
        )  # fmt: skip
        item = message_item(page, "inbox-form", "Refund order 9?")
        expect(item.get_by_role("button", name="Approve")).to_be_visible()
        # No raw editor: fields, pre-filled from the defaults.
        expect(item.get_by_label(EDITOR_LABEL)).to_have_count(0)
        expect(item.get_by_label("amount *")).to_have_value("40")
        expect(item.get_by_label("note", exact=True)).to_have_value("as proposed")
        assert json.loads(item.get_by_label("tags (JSON)").input_value()) == ["refund"]
        expect(item.get_by_label("name", exact=True)).to_have_value("Ann")
        expect(item.get_by_role("group", name="reason *").get_by_role("button")).to_have_text(
            ["damaged", "late"]
        )
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the form overflows a narrow window: {width}px"
        message_id = item.get_attribute("data-message")
        assert message_id is not None

        # Keyboard alone: approve, a negative amount, no reason - the server refuses it, and
        # says so beside each field.
        tab_to(page, f"choice:{message_id}/approved:0")
        page.keyboard.press("Space")
        expect(item.get_by_role("button", name="Approve")).to_have_attribute("aria-pressed", "true")
        tab_to(page, f"field:{message_id}/amount")
        page.keyboard.press("Control+A")
        page.keyboard.type("-5")
        page.keyboard.press("Control+Enter")
        amount_error = item.locator(f'[id="error-{message_id}/amount"]')
        expect(amount_error).to_have_text("-5 is less than the minimum of 0")
        expect(item.locator(f'[id="error-{message_id}/reason"]')).to_have_text(
            "'reason' is a required property"
        )
        expect(item.get_by_label("amount *")).to_have_attribute("aria-invalid", "true")
        assert silent_client.get_message("inbox-form", message_id)["state"] == "SENT"
        assert not waiting.done()

        # Then a valid answer: the human edits the proposal.
        page.keyboard.press("Control+A")
        page.keyboard.type("12.5")
        tab_to(page, f"choice:{message_id}/reason:1")
        page.keyboard.press("Enter")
        page.keyboard.press("Control+Enter")
        answer = waiting.result(timeout=WAIT)["response"]
        assert answer == {
            "approved": True,
            "reason": "late",
            "amount": 12.5,
            "note": "as proposed",
            "tags": ["refund"],
            "contact": {"name": "Ann"},
        }
        expect(item.locator(".badge")).to_have_text("ANSWERED")
    finally:
        context.close()


def test_a_schema_form_falls_back_to_raw_json(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient, app: ThreadPoolExecutor
) -> None:
    silent_client.create_session("inbox-raw-json", subject_id="inbox")
    open_inbox(page, silent_stack.inbox_url)
    schema = {"type": "object", "properties": {"anything": {}}, "required": ["anything"]}
    waiting = app.submit(
        silent_client.send_and_wait_for_response,
        "inbox-raw-json", "chat", "Tell me", "inbox", WAIT, response_schema=schema,
    )  # fmt: skip
    item = message_item(page, "inbox-raw-json", "Tell me")
    item.get_by_text("Answer as raw JSON instead").click()
    raw = item.get_by_label("Answer (a JSON object; sent instead of the form)")
    raw.fill('{"anything": [1, {"deep": true}]}')
    item.get_by_role("button", name="Send answer").click()
    assert waiting.result(timeout=WAIT)["response"] == {"anything": [1, {"deep": True}]}


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


def test_reminders_and_escalations_are_listed_under_their_message_and_answer_the_wait(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient, app: ThreadPoolExecutor
) -> None:
    silent_client.create_session("inbox-policy-page", subject_id="inbox")
    open_inbox(page, silent_stack.inbox_url)
    waiting = app.submit(
        silent_client.send_and_wait_for_response,
        "inbox-policy-page",
        "chat",
        "Release v7?",
        "inbox",
        WAIT,
        message_id="release-7",
        reminders=[0.2],
        escalate_to=[(0.4, "manager")],
    )
    original = card(page, "inbox-policy-page").locator('li[data-message="release-7"]')
    follow_ups = original.get_by_role("list", name="Reminders and escalations of release-7")
    expect(follow_ups.locator("li.follow-up")).to_have_count(2)
    expect(follow_ups.locator("li.reminder .message-text")).to_have_text("Reminder: Release v7?")
    escalation = follow_ups.locator('li.escalation[data-message="release-7~e1"]')
    expect(escalation).to_contain_text("manager")
    escalation.get_by_label(EDITOR_LABEL).fill('{"approved": true}')
    escalation.get_by_label(EDITOR_LABEL).press("Control+Enter")
    answer = waiting.result(WAIT)
    assert (answer["message_id"], answer["response"]) == ("release-7~e1", {"approved": True})
    assert_not_reloaded(page)
