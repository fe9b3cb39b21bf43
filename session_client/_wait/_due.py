"""Far-off recovery rounds as due times under one timer. Pure bookkeeping, no I/O.

A subject's safety-net round falls due a minute after its first wait (:mod:`._schedule`), and
most waits end long before: a timer of its own per subject would be armed and cancelled for
nothing, and while it lives hold a ``TimerHandle`` per pending subject. The waiter keeps their
due times here instead, and one timer wakes it for all that are due, at most ``slack`` late.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["DueTimes"]

K = TypeVar("K", bound=Hashable)


class DueTimes(Generic[K]):
    """Keys due at times; the owner's one timer fires at :meth:`add`'s and :meth:`expired`'s
    wake times, at most one each ``slack`` seconds."""

    def __init__(self, slack: float) -> None:
        self.slack = slack
        self._due: dict[K, float] = {}
        self._wake: float | None = None  # when the owner's timer fires; None: it has none

    def add(self, key: K, when: float) -> float | None:
        """Keep ``key`` due at ``when`` (instead of any time it had). Returns when the owner's
        timer must now fire, if it must be armed again (cancelling any other); else None."""
        self._due[key] = when
        if self._wake is not None and self._wake <= when + self.slack:
            return None  # the timer fires in time for it
        self._wake = when
        return when

    def discard(self, key: K) -> bool:
        """``key`` is no longer due. True when nothing is left: the owner cancels its timer
        (else it may fire for nothing)."""
        self._due.pop(key, None)
        if self._due:
            return False
        self._wake = None
        return True

    def clear(self) -> None:
        """Nothing is due; the owner cancels its timer."""
        self._due.clear()
        self._wake = None

    def expired(self, now: float) -> tuple[list[K], float | None]:
        """When the timer fired: the keys due by ``now``, no longer kept, and when the timer
        must fire next (None: nothing is left)."""
        due = [key for key, when in self._due.items() if when <= now]
        for key in due:
            del self._due[key]
        self._wake = max(min(self._due.values()), now + self.slack) if self._due else None
        return due, self._wake
