"""The client commands of ``session-client``: each calls one client method and returns what
to print as JSON (``None``: print nothing)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from ..async_client import AsyncSessionClient
from ..consumed import Answered, ConsumedItem
from ..errors import ConflictError
from ..subjects import response_subject, session_subject
from .output import waiting_indicator

__all__ = [
    "Handler",
    "consume",
    "create",
    "expire",
    "get",
    "list_",
    "messages",
    "quorum",
    "reject",
    "respond",
    "send",
    "send_and_wait",
    "wait",
]

Handler = Callable[[AsyncSessionClient, argparse.Namespace], Awaitable[Any]]


# How far a session's expiry may be from its creation plus ``--expires-in`` and still count as
# the one this command created: the expiry is computed on this host's clock, created_at on the
# server's.
_EXPIRES_IN_SLACK = 60


async def create(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``create``: the created (or identical existing) session.

    With ``--expires-in`` the expiry is computed from now, so the same command run again later
    computes another one; the session it created (same arguments, expiring that long after its
    creation) is still the identical session, so it is returned instead of a conflict."""

    async def create_expiring_at(expiry_date: int | None) -> Any:
        return await client.create_session(
            options.session_id,
            options.message_data,
            options.template,
            expiry_date,
            options.subject_id,
        )

    if options.expires_in is None:
        return await create_expiring_at(options.expiry_date)
    try:
        return await create_expiring_at(int(time.time()) + options.expires_in)
    except ConflictError:
        existing = await client.get_session(options.session_id)
        expiry = existing["expiry_date"]
        created = datetime.fromisoformat(existing["created_at"]).timestamp()
        if expiry is None or abs(expiry - created - options.expires_in) > _EXPIRES_IN_SLACK:
            raise
        # The server compares everything else: a session that differs still conflicts.
        return await create_expiring_at(expiry)


async def get(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``get``: the session, or with ``--message-id`` that message."""
    if options.message_id is not None:
        return await client.get_message(options.session_id, options.message_id)
    return await client.get_session(options.session_id)


async def list_(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``list``: one page of sessions, or with ``--all`` every page joined into one."""
    page = await client.list_sessions(
        options.status, options.subject_id, options.limit, options.cursor
    )
    if not options.all:
        return page
    items = list(page["items"])
    while page.get("next_cursor"):
        page = await client.list_sessions(
            options.status, options.subject_id, options.limit, page["next_cursor"]
        )
        items.extend(page["items"])
    return {"items": items, "next_cursor": None}


async def send(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``send``: the message record (with the ``message_id`` to ``wait`` for)."""
    return await client.send_message(
        options.session_id,
        options.channel_id,
        options.message,
        subject_id=options.subject_id,
        message_id=options.message_id,
        response_schema=options.response_schema,
    )


async def messages(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``messages``: the session's record, every message in the order it was sent (a list)."""
    return [message async for message in client.iter_messages(options.session_id)]


def _listened_subject(client: AsyncSessionClient, options: argparse.Namespace) -> str:
    """The NATS subject a wait listens on: the session's subject (as ResponseTimeoutError
    names it)."""
    subject = response_subject(client.subject_template, options.subject_id)
    return session_subject(subject, options.session_id)


async def wait(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``wait``: the answer payload."""
    async with waiting_indicator(_listened_subject(client, options), options.timeout, sys.stderr):
        return await client.wait_for_response(
            options.session_id,
            options.subject_id,
            options.message_id,
            options.timeout,
            response_schema=options.response_schema,
        )


async def send_and_wait(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``send-and-wait``: the answer payload."""
    async with waiting_indicator(_listened_subject(client, options), options.timeout, sys.stderr):
        return await client.send_and_wait_for_response(
            options.session_id,
            options.channel_id,
            options.message,
            options.subject_id,
            options.timeout,
            message_id=options.message_id,
            response_schema=options.response_schema,
            reminders=options.remind,
            escalate_to=options.escalate,
            on_timeout=options.on_timeout,
        )


async def quorum(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``quorum``: ``{"answers", "extra", "declined", "unanswered"}``."""
    async with waiting_indicator(_listened_subject(client, options), options.timeout, sys.stderr):
        return await client.send_and_wait_for_quorum(
            options.session_id,
            options.channel_ids,
            options.message,
            options.subject_id,
            quorum=options.quorum,
            timeout=options.timeout,
            message_id=options.message_id,
        )


async def respond(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``respond``: the answered message."""
    return await client.submit_response(
        options.session_id,
        options.message_id,
        options.response,
        responded_by=options.responded_by,
    )


async def reject(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``reject``: the session, now ``FAILED``."""
    return await client.reject_session(options.session_id)


async def expire(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``expire``: nothing (cron mails any output), or with ``--verbose`` the result."""
    result = await client.expire_sessions()
    return result if options.verbose else None


def _consumed_line(item: ConsumedItem) -> dict[str, Any]:
    """What ``consume`` prints for ``item``: an answer's payload, or a session's end as its
    ``session.status`` event (``asyncapi.yaml``)."""
    if isinstance(item, Answered):
        return dict(item.payload)
    return {"event": "session.status", "session_id": item.session_id, "status": item.status}


async def consume(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``consume``: one JSON line per item on stdout, each acknowledged once printed (when the
    next is asked for, or the command ends normally: ``--count`` reached); until stopped."""
    handled = 0
    responses = client.responses(
        options.subject_id,
        group=options.group,
        ack_wait=options.ack_wait,
        max_in_flight=options.max_in_flight,
    )
    async with responses as items:
        async for item in items:
            line = json.dumps(_consumed_line(item), separators=(",", ":"), ensure_ascii=False)
            sys.stdout.write(line + "\n")
            sys.stdout.flush()  # printed before it is acknowledged
            handled += 1
            if handled == options.count:
                break
    return None
