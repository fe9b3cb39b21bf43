"""A simulated human who answers the messages the reference server delivers."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..answer_schemas import answer_errors
from .sketch import sketch_answer

__all__ = ["Answer", "Reject", "Silence", "SimulatedHuman"]

#: A callback decides per message: an answer object, or ``None`` to stay silent.
AnswerCallback = Callable[[dict[str, Any]], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Answer:
    """Answer the message with ``response`` after ``delay`` seconds, as ``responded_by``."""

    response: dict[str, Any]
    delay: float = 0.0
    responded_by: str | None = None


@dataclass(frozen=True)
class Reject:
    """Reject (fail) the message's session after ``delay`` seconds, as a human declining would."""

    delay: float = 0.0


@dataclass(frozen=True)
class Silence:
    """Never answer, so that timeouts can be tested."""


Decision = Answer | Reject | Silence


class SimulatedHuman:
    """Answers every delivered message: a fixed answer, a callback's, or none at all.

    The default behaviour applies to every message; ``*_next`` controls queue one-shot
    behaviours that take precedence for the next messages, in order. Messages on an ignored
    channel (:meth:`ignore_channel`) are received but never answered, before any of that, so
    escalation to another channel can be tested. Controls may be called from any thread while
    the server runs.

    A message with a ``response_schema`` gets the default answer if it matches the schema, else
    one sketched from the schema (its ``default``s, enums, the simplest values of its types):
    valid unless a test says otherwise. A one-shot or callback answer is given as it is; one the
    server refuses is recorded in ``refused`` and the human is asked again (the next one-shot,
    else the default), as a channel shows a human the errors and asks again.
    """

    def __init__(
        self,
        answer: dict[str, Any] | None = None,
        *,
        delay: float = 0.0,
        callback: AnswerCallback | None = None,
        silent: bool = False,
    ) -> None:
        self._lock = threading.Condition()
        self._next: deque[Decision] = deque()
        self._ignored: set[str] = set()
        self._callback: AnswerCallback | None = None
        self._default: Decision = Answer({"approved": True})
        self.received: list[dict[str, Any]] = []
        """Every message delivered to this human, in order (again after a refused answer)."""
        self.refused: list[dict[str, Any]] = []
        """The answers the server refused as invalid: ``{"message_id", "errors"}`` each."""
        if silent:
            self.stay_silent()
        elif callback is not None:
            self.answer_using(callback, delay=delay)
        else:
            self.answer_with(answer if answer is not None else {"approved": True}, delay=delay)
        self._initial = (self._callback, self._default)

    def reset(self) -> None:
        """Back to the behaviour given at construction: one-shots dropped, ``received`` emptied
        (so a stack shared by many tests starts each test alike)."""
        with self._lock:
            self._callback, self._default = self._initial
            self._next.clear()
            self._ignored.clear()
            self.received.clear()
            self.refused.clear()

    # -- controls ---------------------------------------------------------------------------

    def answer_with(
        self, response: dict[str, Any], *, delay: float = 0.0, responded_by: str | None = None
    ) -> None:
        """From now on, answer every message with ``response`` after ``delay`` seconds (a
        message with a ``response_schema`` that ``response`` does not match: one sketched from
        the schema)."""
        with self._lock:
            self._callback, self._default = None, Answer(dict(response), delay, responded_by)

    def answer_using(self, callback: AnswerCallback, *, delay: float = 0.0) -> None:
        """From now on, answer with ``callback(message)`` (``None`` means stay silent)."""
        with self._lock:
            self._callback, self._default = callback, Answer({}, delay)

    def stay_silent(self) -> None:
        """From now on, never answer."""
        with self._lock:
            self._callback, self._default = None, Silence()

    def reject_sessions(self, *, delay: float = 0.0) -> None:
        """From now on, reject the session of every message instead of answering."""
        with self._lock:
            self._callback, self._default = None, Reject(delay)

    def ignore_channel(self, channel_id: str) -> None:
        """From now on, never answer the messages sent on ``channel_id`` (until :meth:`reset`
        or :meth:`heed_channel`)."""
        with self._lock:
            self._ignored.add(channel_id)

    def heed_channel(self, channel_id: str) -> None:
        """Answer the messages on ``channel_id`` again, as the other controls say."""
        with self._lock:
            self._ignored.discard(channel_id)

    def answer_next(
        self, response: dict[str, Any], *, delay: float = 0.0, responded_by: str | None = None
    ) -> None:
        """Answer the next message (only) with ``response``, as it is: an answer that does not
        match the message's ``response_schema`` is refused, and the human is asked again."""
        self._queue(Answer(dict(response), delay, responded_by))

    def stay_silent_next(self) -> None:
        """Leave the next message (only) unanswered."""
        self._queue(Silence())

    def reject_next(self, *, delay: float = 0.0) -> None:
        """Reject the session of the next message (only)."""
        self._queue(Reject(delay))

    def _queue(self, decision: Decision) -> None:
        with self._lock:
            self._next.append(decision)

    def wait_for_messages(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least ``count`` messages were delivered; return them all."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"{len(self.received)} of {count} messages delivered")
            return list(self.received)

    # -- used by the reference server -------------------------------------------------------

    def decide(self, message: dict[str, Any]) -> Decision:
        """Record ``message`` and decide what to do with it."""
        with self._lock:
            self.received.append(message)
            self._lock.notify_all()
            if message.get("channel_id") in self._ignored:
                return Silence()
            if self._next:
                return self._next.popleft()
            default, callback = self._default, self._callback
        if not isinstance(default, Answer):
            return default
        if callback is None:
            return _fitted(default, message.get("response_schema"))
        response = callback(message)
        return Silence() if response is None else Answer(response, default.delay)

    def note_refused(self, message: dict[str, Any], errors: list[dict[str, str]]) -> None:
        """Record that the server refused this human's answer to ``message`` (``errors``)."""
        with self._lock:
            self.refused.append({"message_id": message["message_id"], "errors": errors})


def _fitted(answer: Answer, schema: dict[str, Any] | None) -> Answer:
    """``answer``, or, if it does not match ``schema``, one sketched from the schema."""
    if schema is None or not answer_errors(schema, answer.response):
        return answer
    return Answer(sketch_answer(schema), answer.delay, answer.responded_by)
