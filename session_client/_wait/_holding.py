"""What one member of a consumer group holds: pure bookkeeping, no I/O.

A member fetches only when it holds nothing, and at most ``limit`` items at a time: items
fetched but not handed out yet, and the one being handled (acknowledged when the loop asks
for the next). So one member never holds more than ``limit`` unacknowledged items, and a crash
redelivers at most that many.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

__all__ = ["Holding"]

M = TypeVar("M")


class Holding(Generic[M]):
    """Items delivered to this member and not acknowledged: queued, and the current one."""

    __slots__ = ("_queue", "current", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._queue: deque[M] = deque()
        #: The item handed out and not finished yet.
        self.current: M | None = None

    def __len__(self) -> int:
        return len(self._queue) + (self.current is not None)

    def batch(self) -> int:
        """How many items to fetch now: none while any is queued, else up to the limit."""
        return 0 if self._queue else self.limit - (self.current is not None)

    def add(self, items: list[M]) -> None:
        """Queue fetched ``items`` (at most :meth:`batch` of them)."""
        self._queue.extend(items)

    def hand_out(self) -> M | None:
        """Make the oldest queued item the current one; None if none is queued. The current
        one must be finished first."""
        assert self.current is None, "finish the current item first"
        self.current = self._queue.popleft() if self._queue else None
        return self.current

    def finish(self) -> M | None:
        """The current item, no longer held (to acknowledge, or to leave unacknowledged)."""
        current, self.current = self.current, None
        return current

    def held(self) -> list[M]:
        """Every item held: the current one, then the queued ones."""
        return ([] if self.current is None else [self.current]) + list(self._queue)

    def drop(self, items: Iterable[M]) -> None:
        """Let go of those of ``items`` still held (compared by identity), neither finished nor
        given back."""
        ids = {id(item) for item in items}
        if id(self.current) in ids:
            self.current = None
        self._queue = deque(item for item in self._queue if id(item) not in ids)

    def unstarted(self) -> list[M]:
        """Every queued item, no longer held: never handed out, so safe to give back."""
        items = list(self._queue)
        self._queue.clear()
        return items
