"""No web page can drive the local stack's API from the developer's browser (issue 26, item 2):
in real headless Chromium, a page of another origin posts the classic cross-site form (a
``text/plain`` body that is valid JSON, which needs no CORS preflight) to answer a message, and
the message stays unanswered."""

from __future__ import annotations

import html
import json

import pytest
from playwright.sync_api import Page, Route

from session_client import SessionClient
from session_client.testing import LocalStack

pytestmark = pytest.mark.integration

EVIL = "http://evil.test/"


def attack_page(action: str) -> str:
    # A text/plain form sends name=value as they are: this one is {"response": {..., "x": "="}}.
    name = html.escape('{"response": {"pwned": true, "x": "', quote=True)
    value = html.escape('"}}', quote=True)
    return (
        f'<form method="POST" enctype="text/plain" action="{html.escape(action)}">'
        f'<input name="{name}" value="{value}"><button id="go">go</button></form>'
    )


def test_a_cross_origin_form_cannot_answer_a_message(
    page: Page, silent_stack: LocalStack, silent_client: SessionClient
) -> None:
    silent_client.create_session("cross-site", subject_id="cross-site")
    sent = silent_client.send_message("cross-site", "chat", "Transfer the funds?")
    action = f"{silent_stack.api_url}/sessions/cross-site/messages/{sent['message_id']}/response"

    def serve_attack(route: Route) -> None:  # the attacker's site, served by the browser's stub
        route.fulfill(status=200, content_type="text/html", body=attack_page(action))

    page.route(EVIL, serve_attack)
    page.goto(EVIL)
    with page.expect_response(action) as posted:
        page.click("#go")
    assert posted.value.request.headers["content-type"] == "text/plain"
    assert posted.value.request.post_data is not None
    assert json.loads(posted.value.request.post_data)["response"]["pwned"] is True
    assert posted.value.status == 403  # another origin: refused before the body is read
    assert silent_client.get_message("cross-site", sent["message_id"])["state"] == "SENT"
