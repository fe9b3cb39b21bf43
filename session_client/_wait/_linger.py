"""Subscriptions that outlive their last wait for a moment. Pure bookkeeping, no I/O.

A caller that waits on the same session again right after an answer (a conversation, a loop of
send-and-wait) would otherwise pay a SUB, a PING round trip and an UNSUB every time; and a
process answered many times in a row would wake once more per answer to write its UNSUB. A
released subscription is parked here instead: taken back by the next wait for it, or ended
together with every other one that expired, in one write. Bounded in count: past ``limit`` the
oldest goes at once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["Linger"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Linger(Generic[K, V]):
    """Values parked under a key for at least ``duration`` seconds, at most ``limit`` at once."""

    def __init__(self, duration: float, limit: int) -> None:
        self.duration = duration
        self._limit = limit
        # In the order parked, which is the order they expire in: the duration is fixed.
        self._parked: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._parked)

    def park(self, key: K, value: V, now: float) -> list[V]:
        """Park ``value`` until ``now + duration``; returns what must end now to stay within
        the limit (the oldest first)."""
        self._parked[key] = (now + self.duration, value)
        self._parked.move_to_end(key)
        evicted = []
        while len(self._parked) > self._limit:
            evicted.append(self._parked.popitem(last=False)[1][1])
        return evicted

    def take(self, key: K) -> V | None:
        """The value parked under ``key``, no longer parked; None if there is none."""
        parked = self._parked.pop(key, None)
        return None if parked is None else parked[1]

    def expired(self, now: float) -> list[V]:
        """Unpark and return every value whose time is up at ``now``."""
        ended = []
        while self._parked:
            key, (until, value) = next(iter(self._parked.items()))
            if until > now:
                break
            del self._parked[key]
            ended.append(value)
        return ended

    def clear(self) -> list[V]:
        """Unpark and return everything."""
        values = [value for _, value in self._parked.values()]
        self._parked.clear()
        return values
