"""The client commands of ``session-client``: each calls one client method and returns what
to print as JSON (``None``: print nothing)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ..async_client import AsyncSessionClient
from ..subjects import response_subject
from .output import waiting_indicator

__all__ = [
    "Handler",
    "create",
    "expire",
    "get",
    "list_",
    "reject",
    "respond",
    "send",
    "send_and_wait",
    "wait",
]

Handler = Callable[[AsyncSessionClient, argparse.Namespace], Awaitable[Any]]


async def create(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``create``: the created (or identical existing) session."""
    return await client.create_session(
        options.session_id,
        options.message_data,
        options.template,
        options.expiry_date,
        options.subject_id,
    )


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
    )


async def wait(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``wait``: the answer payload."""
    subject = response_subject(client.subject_template, options.subject_id)
    async with waiting_indicator(subject, options.timeout, sys.stderr):
        return await client.wait_for_response(
            options.session_id, options.subject_id, options.message_id, options.timeout
        )


async def send_and_wait(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``send-and-wait``: the answer payload."""
    subject = response_subject(client.subject_template, options.subject_id)
    async with waiting_indicator(subject, options.timeout, sys.stderr):
        return await client.send_and_wait_for_response(
            options.session_id,
            options.channel_id,
            options.message,
            options.subject_id,
            options.timeout,
            message_id=options.message_id,
        )


async def respond(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``respond``: the answered message."""
    return await client.submit_response(options.session_id, options.message_id, options.response)


async def reject(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``reject``: the session, now ``FAILED``."""
    return await client.reject_session(options.session_id)


async def expire(client: AsyncSessionClient, options: argparse.Namespace) -> Any:
    """``expire``: nothing (cron mails any output), or with ``--verbose`` the result."""
    result = await client.expire_sessions()
    return result if options.verbose else None
