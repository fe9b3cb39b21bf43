"""The dev inbox: a page of the local stack where the developer plays the human.

A dev-only surface under ``/_inbox/``, not part of ``openapi.yaml``: the page (plain HTML, CSS
and JavaScript shipped in ``inbox_page/``), a state feed it polls, and an answer endpoint that
submits as ``submitResponse`` does (a message's ``response_schema`` checks the answer; the page
renders a form from it). Rejecting and expiring go through the contract's own endpoints. The
inbox answers loopback clients only unless ``remote`` is set; its data needs the API token when
one is set.
"""

from __future__ import annotations

import uuid
import webbrowser
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.datastructures import Address
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._policies.ids import follow_up_of
from .guard import is_loopback_address
from .store import SessionStore

__all__ = ["INBOX_PATH", "group_follow_ups", "inbox_routes", "inbox_state", "open_inbox"]

Handler = Callable[[Request], Awaitable[Response]]

#: Where the page is served.
INBOX_PATH = "/_inbox/"
#: The page lists at most this many sessions (those awaiting an answer first).
SESSION_LIMIT = 100
#: ... and at most this many of the newest events NATS could not take (the dead letters).
DEAD_LETTER_LIMIT = 20

_ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "inbox.css": "text/css; charset=utf-8",
    "inbox.js": "text/javascript; charset=utf-8",
}
# Nothing but the page's own files may load or run; nothing is cached (it is a dev tool).
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def inbox_state(store: SessionStore, epoch: str, since: str | None) -> dict[str, Any] | None:
    """The page's data (``version`` and ``sessions``), or ``None`` if it is still ``since``.

    ``epoch`` tells server runs apart, so a page left open across a restart refetches.
    """
    version = f"{epoch}.{store.change_count()}"
    if since == version:
        return None
    sessions = store.inbox_sessions(SESSION_LIMIT)
    for session in sessions:
        session["messages"] = group_follow_ups(session["messages"])
    return {
        "version": version,
        "sessions": sessions,
        "dead_letters": store.dead_letters(DEAD_LETTER_LIMIT),
    }


def group_follow_ups(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A session's messages with each reminder and escalation of a waiting policy (ids
    ``{message_id}~rN`` / ``~eN``) moved under its message's ``follow_ups``, marked with its
    ``follow_up`` kind; every message gets the list (empty without any)."""
    by_id = {message["message_id"]: {**message, "follow_ups": []} for message in messages}
    grouped = []
    for message in by_id.values():
        origin = follow_up_of(message["message_id"])
        if origin is not None and origin[0] in by_id:
            by_id[origin[0]]["follow_ups"].append({**message, "follow_up": origin[1]})
        else:
            grouped.append(message)
    return grouped


def _is_loopback(client: Address | None, hostname: str | None) -> bool:
    """Whether the request comes from this machine and names it so: a web page in the
    developer's browser could otherwise read the inbox through a DNS name rebound to 127.0.0.1."""
    if client is None or hostname is None:
        return False
    return is_loopback_address(client.host) and (
        hostname == "localhost" or is_loopback_address(hostname)
    )


def _read(name: str) -> bytes:
    return (
        resources.files(__package__ or "session_client.testing") / "inbox_page" / name
    ).read_bytes()


def inbox_routes(
    store: SessionStore,
    *,
    guard: Callable[[Handler], Handler],
    answer: Handler,
    remote: bool = False,
) -> list[Route]:
    """The inbox's routes. ``guard`` wraps data endpoints (bearer token, problem responses);
    ``answer`` submits ``{"response": {...}}`` (``application/json`` only, like every body of
    the API) for the message of the path."""
    files = {name: _read(name) for name in _ASSETS}
    epoch = uuid.uuid4().hex[:8]

    def local(handler: Handler) -> Handler:
        async def checked(request: Request) -> Response:
            if not remote and not _is_loopback(request.client, request.url.hostname):
                raise HTTPException(404)  # elsewhere the inbox does not exist
            return await handler(request)

        return checked

    async def get_file(request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        if name not in files:
            raise HTTPException(404)
        return Response(files[name], media_type=_ASSETS[name], headers=_HEADERS)

    async def get_state(request: Request) -> Response:
        state = inbox_state(store, epoch, request.query_params.get("since"))
        if state is None:
            return Response(status_code=204, headers=_HEADERS)
        return JSONResponse(state, headers=_HEADERS)

    answer_path = INBOX_PATH + "api/sessions/{session_id}/messages/{message_id}/answer"
    return [
        Route(INBOX_PATH, local(get_file), methods=["GET"]),
        Route(INBOX_PATH + "static/{name}", local(get_file), methods=["GET"]),
        Route(INBOX_PATH + "api/state", local(guard(get_state)), methods=["GET"]),
        Route(answer_path, local(guard(answer)), methods=["POST"]),
    ]


def open_inbox(url: str, say: Callable[[str], None]) -> None:
    """Tell where the inbox is and open it in the default browser (``$BROWSER`` picks one)."""
    say(f"inbox: answer as the human at {url}")
    if not webbrowser.open(url):
        say("inbox: found no browser to open; open the URL above yourself")
