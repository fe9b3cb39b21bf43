"""Who waits for what: pending waits by subject, session and message. Pure bookkeeping, no I/O.

With client-chosen message ids every wait knows its message before the message is sent, so an
answer goes to exactly the waits for its ``message_id`` (and to waits for "any message of the
session"), found in O(1), like nats-py's ``request()`` finds a reply by its token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

from ._payloads import Answer

__all__ = ["RoutingTable", "Wait"]


class Wait:
    """One caller waiting for the answer to ``message_id`` (None: to any message) of a
    session, on one response subject."""

    __slots__ = ("answer", "future", "message_id", "session_id", "subject", "subject_id")

    def __init__(
        self, subject: str, subject_id: str, session_id: str, message_id: str | None
    ) -> None:
        self.subject = subject
        self.subject_id = subject_id
        self.session_id = session_id
        self.message_id = message_id
        self.future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        #: The answer that settled it, if one did (how it came: for the telemetry).
        self.answer: Answer | None = None

    def resolve(self, answer: Answer) -> None:
        """Settle with ``answer``'s payload unless already settled (duplicates are dropped)."""
        if not self.future.done():
            self.future.set_result(answer.payload)
            self.answer = answer

    def fail(self, error: BaseException) -> None:
        """Settle with ``error`` unless already settled."""
        if not self.future.done():
            self.future.set_exception(error)
            # Its caller may be gone (cancelled, or failing to subscribe): no "never retrieved".
            self.future.exception()


class _SessionWaits:
    """The waits of one session on one subject. ``anything`` exists only while used: with one
    subject per wait, 10,000 pending waits make 10,000 of these."""

    __slots__ = ("anything", "by_message")

    def __init__(self) -> None:
        self.by_message: dict[str, list[Wait]] = {}
        self.anything: list[Wait] | None = None

    def __bool__(self) -> bool:
        return bool(self.by_message or self.anything)

    def __iter__(self) -> Iterator[Wait]:
        yield from self.anything or ()
        for waits in self.by_message.values():
            yield from waits

    def add(self, wait: Wait) -> None:
        if wait.message_id is None:
            if self.anything is None:
                self.anything = []
            self.anything.append(wait)
        else:
            self.by_message.setdefault(wait.message_id, []).append(wait)

    def remove(self, wait: Wait) -> bool:
        if wait.message_id is None:
            if self.anything is None or wait not in self.anything:
                return False
            self.anything.remove(wait)
            if not self.anything:
                self.anything = None
            return True
        waits = self.by_message.get(wait.message_id)
        if waits is None or wait not in waits:
            return False
        waits.remove(wait)
        if not waits:
            del self.by_message[wait.message_id]
        return True

    def for_message(self, message_id: str) -> list[Wait]:
        """The waits an answer to ``message_id`` settles."""
        return [*self.by_message.get(message_id, ()), *(self.anything or ())]


class _Subject:
    __slots__ = ("count", "sessions", "since")

    def __init__(self) -> None:
        self.sessions: dict[str, _SessionWaits] = {}
        self.count = 0
        #: Wall-clock time the subject got its first wait: nothing before it is awaited here.
        self.since = time.time()


class RoutingTable:
    """The pending waits; tells which waits a payload or a REST record settles."""

    def __init__(self) -> None:
        self._subjects: dict[str, _Subject] = {}

    def __len__(self) -> int:
        """How many subjects have waits."""
        return len(self._subjects)

    def add(self, wait: Wait) -> bool:
        """Add ``wait``; True if it is the first on its subject (subscribe to it)."""
        entry = self._subjects.get(wait.subject)
        first = entry is None
        if entry is None:
            entry = self._subjects[wait.subject] = _Subject()
        group = entry.sessions.get(wait.session_id)
        if group is None:
            group = entry.sessions[wait.session_id] = _SessionWaits()
        group.add(wait)
        entry.count += 1
        return first

    def remove(self, wait: Wait) -> bool:
        """Forget ``wait``; True if its subject has no waits left (unsubscribe from it)."""
        entry = self._subjects.get(wait.subject)
        group = entry.sessions.get(wait.session_id) if entry is not None else None
        if entry is None or group is None or not group.remove(wait):
            return False
        if not group:
            del entry.sessions[wait.session_id]
        entry.count -= 1
        if entry.count:
            return False
        del self._subjects[wait.subject]
        return True

    def since(self, subject: str) -> float:
        """When ``subject`` got its first wait (wall clock), or now if it has none."""
        entry = self._subjects.get(subject)
        return entry.since if entry is not None else time.time()

    def waiting_sessions(self, subject: str) -> set[str]:
        """The sessions with a wait on ``subject`` for any of their messages."""
        entry = self._subjects.get(subject)
        if entry is None:
            return set()
        return {sid for sid, group in entry.sessions.items() if group.anything}

    def has_session(self, subject: str, session_id: str) -> bool:
        """Whether ``session_id`` has a wait on ``subject``."""
        entry = self._subjects.get(subject)
        return entry is not None and session_id in entry.sessions

    def answer(self, subject: str, answer: Answer) -> int:
        """Settle the waits on ``subject`` that ``answer`` answers; returns how many waited."""
        entry = self._subjects.get(subject)
        group = entry.sessions.get(answer.session_id) if entry is not None else None
        if group is None:
            return 0
        waits = group.for_message(answer.message_id)
        for wait in waits:
            wait.resolve(answer)
        return len(waits)

    def fail_message(
        self, subject: str, session_id: str, message_id: str, error: Callable[[Wait], BaseException]
    ) -> None:
        """Fail the waits on ``subject`` that wait for ``message_id``, or for any message of
        its session: the message was closed, so its session is."""
        entry = self._subjects.get(subject)
        group = entry.sessions.get(session_id) if entry is not None else None
        for wait in group.for_message(message_id) if group is not None else ():
            wait.fail(error(wait))

    def fail_anything(self, session_id: str, error: Callable[[str, None], BaseException]) -> None:
        """Fail the waits for any message of ``session_id``, on every subject: it closed."""
        for entry in self._subjects.values():
            group = entry.sessions.get(session_id)
            for wait in (group.anything or ()) if group is not None else ():
                wait.fail(error(session_id, None))

    def subjects_awaiting_messages(self, session_id: str) -> list[str]:
        """The subjects where ``session_id`` has waits for particular messages."""
        return [
            subject
            for subject, entry in self._subjects.items()
            if (group := entry.sessions.get(session_id)) is not None and group.by_message
        ]

    def fail_all(self, error: BaseException) -> None:
        """Fail every wait (the client is closing) and forget them."""
        for entry in self._subjects.values():
            for group in entry.sessions.values():
                for wait in group:
                    wait.fail(error)
        self._subjects.clear()
