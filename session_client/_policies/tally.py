"""The count of a quorum: which messages were answered (accepted or declined), failed or are
still open, and whether the quorum is reached or can no longer be. Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Accept", "Tally"]

#: Decides whether an answer (its ``ResponsePayload``) counts towards the quorum.
Accept = Callable[[Any], bool]


class Tally:
    """The answers to ``message_ids`` as they arrive, towards ``quorum`` accepted ones."""

    def __init__(self, quorum: int, message_ids: Sequence[str], accept: Accept | None) -> None:
        self.quorum = quorum
        self._accept = accept
        #: Accepted answers, in arrival order; :attr:`declined` the others.
        self.answers: list[dict[str, Any]] = []
        self.declined: list[dict[str, Any]] = []
        #: The messages whose wait failed (their session ended), by id.
        self.failed: dict[str, BaseException] = {}
        self._open = list(message_ids)

    @property
    def unanswered(self) -> list[str]:
        """The ids of the messages with neither an answer nor a failure, in sending order."""
        return list(self._open)

    @property
    def reached(self) -> bool:
        return len(self.answers) >= self.quorum

    @property
    def reachable(self) -> bool:
        """Whether the open messages can still make up the quorum."""
        return len(self.answers) + len(self._open) >= self.quorum

    def answered(self, message_id: str, payload: dict[str, Any]) -> None:
        """Count the answer to ``message_id``."""
        self._open.remove(message_id)
        accepted = self._accept is None or self._accept(payload)
        (self.answers if accepted else self.declined).append(payload)

    def failed_with(self, message_id: str, error: BaseException) -> None:
        """Count ``message_id`` as never to be answered."""
        self._open.remove(message_id)
        self.failed[message_id] = error
