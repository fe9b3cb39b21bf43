"""The reference server's domain operations: the lifecycle rules of ``openapi.yaml``."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ..answer_schemas import answer_errors
from .human import Answer, Reject, SimulatedHuman
from .publisher import EventPublisher
from .store import Conflict, SessionStore

__all__ = ["InvalidAnswer", "SessionService"]

logger = logging.getLogger(__name__)

_SESSION_FIELDS = ("message_data", "message_data_template", "expiry_date", "subject_id")


#: How often the simulated human is asked again after an answer the server refused.
_REASKS = 3


class InvalidAnswer(Exception):
    """The answer does not match its message's ``response_schema``: nothing was stored.

    ``errors`` lists each violation as ``{"path": JSON Pointer into the answer, "message"}``.
    """

    def __init__(self, message_id: str, errors: list[dict[str, str]]) -> None:
        super().__init__(f"the answer to {message_id!r} does not match its response_schema")
        self.errors = errors


def _require_same_message(
    existing: dict[str, Any],
    session_id: str,
    channel_id: str,
    message: str,
    subject_id: str | None,
    response_schema: dict[str, Any] | None,
) -> None:
    """Raise :class:`Conflict` unless ``existing`` is what this request would have created."""
    if existing["session_id"] != session_id:
        raise Conflict(
            "message-id-conflict",
            f"message {existing['message_id']!r} belongs to another session",
        )
    if (
        existing["channel_id"],
        existing["message"],
        existing["subject_id"],
        existing["response_schema"],
    ) != (channel_id, message, subject_id, response_schema):
        raise Conflict(
            "message-id-conflict",
            f"message {existing['message_id']!r} already exists with a different body",
        )


class SessionService:
    """Applies operations to the store, publishes events and involves the simulated human."""

    def __init__(
        self,
        store: SessionStore,
        publisher: EventPublisher | None = None,
        human: SimulatedHuman | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.human = human
        self._tasks: set[asyncio.Task[None]] = set()

    def create_session(self, fields: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Create the session, or return the existing one if ``fields`` match it (200)."""
        existing = self.store.find_session(fields["session_id"])
        if existing is None:
            return 201, self.store.insert_session(fields)
        if all(existing[name] == fields[name] for name in _SESSION_FIELDS):
            return 200, existing
        raise Conflict(
            "session-exists",
            f"session {fields['session_id']!r} already exists with a different body",
        )

    def require_active(self, session_id: str) -> dict[str, Any]:
        """The session if it is ``ACTIVE``; raises :class:`Conflict` otherwise."""
        session = self.store.get_session(session_id)
        if session["status"] != "ACTIVE":
            raise Conflict("session-not-active", f"session {session_id!r} is {session['status']}")
        return session

    def send_message(
        self,
        session_id: str,
        channel_id: str,
        message: str,
        subject_id: str | None,
        message_id: str | None = None,
        trace_context: dict[str, str] | None = None,
        response_schema: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Record the message (with the ``trace_context`` of its request, to publish its answer
        in, and the ``response_schema`` its answer must match) and deliver it to the channel
        (the simulated human): ``202``.

        A repeated client-chosen ``message_id`` with the same body returns the message as it is
        now (``200``), whatever the session's status, and delivers nothing again.
        """
        session = self.store.get_session(session_id)  # 404 first
        effective_subject = subject_id or session["subject_id"]
        if message_id is not None:
            existing = self.store.find_message(message_id)
            if existing is not None:
                _require_same_message(
                    existing, session_id, channel_id, message, effective_subject, response_schema
                )
                return 200, existing
        self.require_active(session_id)
        stored = self.store.insert_message(
            session_id,
            channel_id,
            message,
            effective_subject,
            message_id,
            trace_context,
            response_schema,
        )
        if self.human is not None:
            self._spawn(self._deliver(stored))
        return 202, stored

    def submit_response(
        self,
        session_id: str,
        message_id: str,
        response: dict[str, Any],
        responded_by: str | None = None,
    ) -> dict[str, Any]:
        """Store the human's answer and queue it for NATS, in one transaction.

        An answer that does not match the message's ``response_schema`` raises
        :class:`InvalidAnswer` and leaves the message ``SENT``: only valid answers are published.
        """
        message = self.store.get_message(session_id, message_id)  # 404 before 409
        self.require_active(session_id)
        schema = message["response_schema"]
        if schema is not None and message["state"] == "SENT":
            errors = answer_errors(schema, response)
            if errors:
                raise InvalidAnswer(message_id, errors)
        with self.store.atomic():
            answered = self.store.answer_message(session_id, message_id, response, responded_by)
            if self.publisher is not None:
                self.publisher.enqueue_answer(answered)
        return answered

    def reject_session(self, session_id: str) -> dict[str, Any]:
        """Reject the session: ``FAILED`` (idempotent); ``EXPIRED`` sessions conflict."""
        session = self.store.get_session(session_id)
        if session["status"] == "FAILED":
            return session
        if session["status"] != "ACTIVE":
            raise Conflict("session-not-active", f"session {session_id!r} is {session['status']}")
        self._close(session_id, "FAILED")
        return self.store.get_session(session_id)

    def expire_sessions(self) -> dict[str, Any]:
        """Expire every ``ACTIVE`` session past its ``expiry_date``."""
        expired = self.store.expirable_session_ids(int(time.time()))
        for session_id in expired:
            self._close(session_id, "EXPIRED")
        return {"expired_count": len(expired), "session_ids": expired}

    def _close(self, session_id: str, status: str) -> None:
        # Status and its events in one transaction: the outbox publishes them at least once.
        with self.store.atomic():
            subjects = self.store.close_session(session_id, status)
            if self.publisher is not None:
                self.publisher.enqueue_status(session_id, status, subjects)

    async def _deliver(self, message: dict[str, Any]) -> None:
        """The simulated human acts on ``message``; an answer the server refuses as invalid is
        shown to them, and they are asked again (as a channel would), a few times at most."""
        assert self.human is not None
        for _ in range(1 + _REASKS):
            decision = self.human.decide(message)
            if not isinstance(decision, Answer | Reject):
                return
            if decision.delay > 0:
                await asyncio.sleep(decision.delay)
            try:
                if isinstance(decision, Answer):
                    self.submit_response(
                        message["session_id"],
                        message["message_id"],
                        decision.response,
                        decision.responded_by,
                    )
                else:
                    self.reject_session(message["session_id"])
                return
            except InvalidAnswer as exc:
                self.human.note_refused(message, exc.errors)
            except Exception as exc:  # the session may have closed meanwhile: a human is late
                logger.info("simulated human could not act on %s: %s", message["message_id"], exc)
                return

    def _spawn(self, coroutine: Any) -> None:
        # Keep a reference so the task is not garbage-collected mid-flight.
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Cancel the human's pending actions."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
