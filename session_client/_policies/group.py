"""The waits of one policy: one registration per message id on the client's
:class:`ResponseWaiter`, released together, settled in arrival order."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from .._wait import ResponseWaiter
from .._wait._routing import Wait

__all__ = ["WaitGroup"]


class WaitGroup:
    """Waits for the answers to several messages of one session, on one subject."""

    def __init__(self, waiter: ResponseWaiter, waits: dict[str, Wait]) -> None:
        self._waiter = waiter
        self._waits = waits
        self._open = set(waits.values())

    @classmethod
    async def register(
        cls,
        waiter: ResponseWaiter,
        subject: str,
        subject_id: str,
        session_id: str,
        message_ids: Sequence[str],
        deadline: float,
    ) -> WaitGroup:
        """Listen for the answers to every one of ``message_ids`` before any is sent (see
        :meth:`ResponseWaiter.register`). Always pair with :meth:`release`."""
        waits: dict[str, Wait] = {}
        try:
            async with asyncio.timeout_at(deadline):
                for message_id in message_ids:
                    waits[message_id] = await waiter.register(
                        subject, subject_id, session_id, message_id
                    )
        except BaseException as exc:
            await cls(waiter, waits).release()
            if isinstance(exc, TimeoutError):
                raise waiter.not_ready() from exc
            raise
        return cls(waiter, waits)

    def settle_from_record(self, record: Mapping[str, Any]) -> None:
        """Settle the wait of ``record``'s message if the record is final."""
        self._waiter.settle_from_record(self._waits[record["message_id"]], record)

    async def next_settled(self, timeout: float | None) -> list[Wait]:
        """The waits settled since the last call (waiting up to ``timeout`` seconds for one;
        None: without limit), answers ordered by ``responded_at``: [] if none by then."""
        if not self._open:
            return []
        if timeout is None or timeout > 0:
            await asyncio.wait(
                [wait.future for wait in self._open],
                timeout=timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        settled = [wait for wait in self._open if wait.future.done()]
        self._open.difference_update(settled)
        return sorted(settled, key=_arrival)

    async def release(self, unsettled: str = "cancelled") -> None:
        """Stop every wait (``unsettled``: how those not settled ended, for their spans)."""
        for wait in self._waits.values():
            await self._waiter.release(wait, unsettled)


def _arrival(wait: Wait) -> tuple[bool, str]:
    """Answers first, by when they were given (those settled together: e.g. on resuming)."""
    if wait.future.exception() is not None:
        return True, ""
    return False, str(wait.future.result().get("responded_at", ""))
