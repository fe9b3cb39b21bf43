"""One question with reminders and escalations: the first answer to any of its messages."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from .schedule import Step, seconds_of, split_due
from .target import Target

__all__ = ["first_answer"]


async def first_answer(target: Target, first: dict[str, Any], steps: Sequence[Step]) -> Any:
    """Send ``first`` (a ``SendMessageRequest`` body), then each step when it falls due after
    the first message's ``created_at``, until one of them is answered: return that answer's
    payload. Sends already made (by a crashed run) are sent again, so their records come back
    unchanged. Raises ``TimeoutError`` at the target's deadline, or as the waits do."""
    group = await target.register([first["message_id"], *(step.message_id for step in steps)])
    async with asyncio.timeout_at(target.deadline) as scope:
        try:
            record = await target.send(first)
            group.settle_from_record(record)
            created = seconds_of(record["created_at"])
            remaining = list(steps)
            while True:
                due, wait_for = split_due(remaining, target.now() - created)
                settled = await group.next_settled(0 if due else wait_for)
                if settled:
                    return settled[0].future.result()  # an answer, else the first error
                if due:
                    step = remaining.pop(0)
                    body = {
                        **first,
                        "message_id": step.message_id,
                        "channel_id": step.channel_id,
                        "message": step.message,
                    }
                    group.settle_from_record(await target.send(body))
        finally:
            await group.release(target.unsettled(scope))
