"""k-of-n quorum: one message per channel, the first ``quorum`` accepted answers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ..errors import QuorumTimeoutError, QuorumUnreachableError, SessionClosedError
from .tally import Accept, Tally
from .target import Target

__all__ = ["quorum_of"]


async def quorum_of(
    target: Target,
    bodies: Sequence[dict[str, Any]],
    quorum: int,
    accept: Accept | None,
    timeout: float,
) -> dict[str, Any]:
    """Send ``bodies`` (``SendMessageRequest`` bodies, one per channel; those a crashed run
    sent come back unchanged) and count their answers until ``quorum`` are accepted: return
    a ``QuorumResult``. Raises :class:`QuorumUnreachableError` as soon as the open messages
    can no longer make up the quorum, :class:`QuorumTimeoutError` at the deadline."""
    tally = Tally(quorum, [body["message_id"] for body in bodies], accept)
    group = await target.register(tally.unanswered)
    try:
        async with asyncio.timeout_at(target.deadline) as scope:
            try:
                for body in bodies:
                    group.settle_from_record(await target.send(body))
                while True:
                    for wait in await group.next_settled(None):
                        assert wait.message_id is not None  # one wait per message
                        error = wait.future.exception()
                        if error is None:
                            tally.answered(wait.message_id, wait.future.result())
                        elif isinstance(error, SessionClosedError):
                            tally.failed_with(wait.message_id, error)
                        else:
                            raise error  # NATS lost for good, the client closed: not a "no"
                    if tally.reached:
                        return {
                            "answers": tally.answers[:quorum],
                            "extra": tally.answers[quorum:],
                            "declined": tally.declined,
                            "unanswered": tally.unanswered,
                        }
                    if not tally.reachable:
                        cause = next(iter(tally.failed.values()), None)
                        raise QuorumUnreachableError(target.session_id, tally) from cause
            finally:
                await group.release(target.unsettled(scope))
    except TimeoutError as exc:
        raise QuorumTimeoutError(
            target.session_id, bodies[0]["message_id"], target.subject, timeout, tally
        ) from exc
