"""A misconfigured NATS is reported as such, within seconds and before anything is sent, never as
a human who did not answer (issue 26, item 1): an unresolvable host, a port that never greets,
a wrong token."""

from __future__ import annotations

import asyncio
import time

import pytest

from session_client import AsyncSessionClient, NatsUnavailableError, NotFoundError
from session_client.testing import LocalStack

from ..misconfigured_nats import MISCONFIGURED, WRONG_TOKEN, host_of, silent_port
from .conftest import unique

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", MISCONFIGURED)
async def test_a_send_fails_fast_naming_the_server_and_sends_nothing(
    stack: LocalStack, name: str
) -> None:
    case = MISCONFIGURED[name]
    with case.serve() as url:
        async with AsyncSessionClient(stack.api_url, [url]) as client:
            sid, message_id = unique("misconfigured"), unique("never-sent")
            await client.create_session(sid)
            started = time.monotonic()
            # Cut at the bound plus a margin: before, each waited the whole 20 s and then
            # raised ResponseTimeoutError ("resume with wait") for a message never sent.
            async with asyncio.timeout(case.bound + 3):
                with pytest.raises(case.error) as raised:
                    await client.send_and_wait_for_response(
                        sid, "c", "Deploy?", "subj.misconfigured", 20, message_id=message_id
                    )
            elapsed = time.monotonic() - started
            assert elapsed < case.bound, f"{name}: {elapsed:.1f} s"
            text = str(raised.value)
            assert host_of(url) in text and WRONG_TOKEN not in text
            with pytest.raises(NotFoundError):
                await client.get_message(sid, message_id)


async def test_a_wait_shorter_than_the_connect_is_nats_unavailable_not_a_timeout(
    stack: LocalStack,
) -> None:
    with silent_port() as url:
        async with AsyncSessionClient(stack.api_url, [url]) as client:
            sid, message_id = unique("short"), unique("never-sent")
            await client.create_session(sid)
            for wait in (
                client.send_and_wait_for_response(
                    sid, "c", "m", "subj.short", timeout=1, message_id=message_id
                ),
                client.wait_for_response(sid, "subj.short", message_id, timeout=1),
            ):
                started = time.monotonic()
                with pytest.raises(NatsUnavailableError, match="within the wait's timeout"):
                    await wait
                assert time.monotonic() - started < 2
            with pytest.raises(NotFoundError):
                await client.get_message(sid, message_id)
