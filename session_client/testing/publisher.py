"""Publishes answers and session status events on NATS, exactly as ``asyncapi.yaml`` says:
on each session's subject, at least once, also across a NATS outage, through an outbox in the
server's store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
from itertools import groupby
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import (
    BadRequestError,
    NoStreamResponseError,
    NotFoundError,
    ServiceUnavailableError,
)

from ..payloads import answer_payload
from ..subjects import (
    DEFAULT_SUBJECT_TEMPLATE,
    response_subject,
    session_subject,
    stream_subject,
)
from ._tracing import ServerTracing
from .store import OutboxEntry, SessionStore, utc_now

__all__ = ["EventPublisher"]

logger = logging.getLogger(__name__)

#: How long the stream keeps an answer or status event for its consumers (``asyncapi.yaml``,
#: "Consumer groups"): 7 days.
RESPONSES_RETENTION = 7 * 24 * 3600.0
#: Errors meaning "this NATS server has no JetStream (now)", not "the request was bad".
_JETSTREAM_UNAVAILABLE = (ServiceUnavailableError, NoRespondersError, NatsTimeoutError)
#: A subject a message can be published on: tokens without whitespace or wildcards.
_PUBLISHABLE_SUBJECT = re.compile(r"[^\s.*>]+(?:\.[^\s.*>]+)*")
#: What the headers of a message may add to its size (``Nats-Msg-Id``, trace context).
_HEADER_ROOM = 1024


class EventPublisher:
    """One NATS connection of the server, and the delivery of the store's outbox over it.

    :meth:`enqueue_answer` and :meth:`enqueue_status` write events to the outbox (call them in
    the store transaction that stores the answer or status) and wake one background task, which
    publishes the outbox in order: through JetStream where a stream covers the subject (the row
    goes once acknowledged; ``Nats-Msg-Id`` deduplicates), through core NATS otherwise (the row
    goes once a flush completed). What fails stays and is retried on reconnection and every
    ``retry_interval`` seconds. Failures are logged, never raised. An entry that can never be
    published (a subject NATS refuses, or more than the server's ``max_payload``) moves to the
    store's dead letters, logged as an error, so that it never holds up the entries after it.

    ``per_session_subjects=False`` publishes on the subject-wide subject instead, as servers
    of contract 1.0 did: to test clients against such servers.
    """

    def __init__(
        self,
        nats_url: str,
        store: SessionStore,
        *,
        subject_template: str = DEFAULT_SUBJECT_TEMPLATE,
        retry_interval: float = 0.5,
        ack_timeout: float = 2.0,
        batch_size: int = 100,
        tracing: ServerTracing | None = None,
        per_session_subjects: bool = True,
    ) -> None:
        self.nats_url = nats_url
        self.store = store
        self.subject_template = subject_template
        self.retry_interval = retry_interval
        self.ack_timeout = ack_timeout
        self.batch_size = batch_size
        self.tracing = tracing or ServerTracing()
        self.per_session_subjects = per_session_subjects
        self._nc: NATS | None = None
        self._covered: dict[str, bool] = {}
        self._wake = asyncio.Event()
        self._delivery: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect (retrying for ever across server restarts) and start delivering the outbox,
        including what an earlier run left in it."""
        self._nc = await nats.connect(
            self.nats_url.split(","),
            name="session-reference-server",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.1,
            connect_timeout=2,
            reconnected_cb=self._on_reconnected,
        )
        self._delivery = asyncio.get_running_loop().create_task(self._deliver_forever())
        self.kick()

    async def ensure_stream(self, name: str = "SESSION_RESPONSES") -> None:
        """Create a JetStream stream covering every response subject, if the template allows
        and the NATS server has JetStream (without it, events go through core NATS)."""
        subject = stream_subject(self.subject_template)
        if self._nc is None or subject is None:
            return
        try:
            await self._nc.jetstream().add_stream(
                name=name,
                subjects=[subject],
                duplicate_window=120.0,
                max_age=RESPONSES_RETENTION,
            )
        except _JETSTREAM_UNAVAILABLE as exc:
            logger.warning("no JetStream stream %s (%r); publishing through core NATS", name, exc)
        self._covered.clear()

    async def close(self) -> None:
        """Stop delivering, try one last delivery pass, then drain and close the connection."""
        task, self._delivery = self._delivery, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        nc = self._nc
        if nc is None or nc.is_closed:
            return
        try:
            if nc.is_connected:
                # What is still undelivered stays in the store for the next run.
                await asyncio.wait_for(self._deliver_pending(), self.ack_timeout + 1)
                await nc.drain()
            else:  # nats-py refuses to drain a connection that is down
                await nc.close()
        except Exception as exc:  # the server is stopping anyway; a lost socket is expected
            logger.debug("closing the NATS connection failed: %r", exc)

    # -- events -----------------------------------------------------------------------------

    def enqueue_answer(self, message: dict[str, Any]) -> None:
        """Queue the answered ``message`` for its subject (no subject: nothing to publish), in
        the trace the message was sent in."""
        if message["subject_id"] is None:
            return
        message_id = message["message_id"]
        self.store.add_outbox(
            message["subject_id"],
            answer_payload(message),
            message_id,
            self.store.trace_context(message_id),
        )
        self.kick()

    def enqueue_status(self, session_id: str, status: str, subject_ids: list[str]) -> None:
        """Queue a ``session.status`` event for every subject that may have a waiter."""
        payload = {"event": "session.status", "session_id": session_id, "status": status}
        payload["at"] = utc_now()
        for subject_id in subject_ids:
            self.store.add_outbox(subject_id, payload, f"status:{session_id}:{status}:{subject_id}")
        self.kick()

    def kick(self) -> None:
        """Have the delivery task look at the outbox now (call on the server's loop)."""
        self._wake.set()

    async def _on_reconnected(self) -> None:
        self.kick()

    # -- delivery ---------------------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        # The only task that publishes, so two passes never overlap and order is kept.
        while True:
            retry = self.store.outbox_size() > 0
            with contextlib.suppress(TimeoutError):  # the retry timer
                await asyncio.wait_for(self._wake.wait(), self.retry_interval if retry else None)
            self._wake.clear()
            try:
                await self._deliver_pending()
            except Exception:  # a bug must not end delivery for good
                logger.exception("delivering the outbox failed")

    async def _deliver_pending(self) -> None:
        """Publish the outbox oldest first until it is empty or a publish fails."""
        while (nc := self._nc) is not None and nc.is_connected:
            entries = self.store.outbox_batch(self.batch_size)
            if not entries or not await self._deliver_batch(nc, entries):
                return

    async def _deliver_batch(self, nc: NATS, entries: list[OutboxEntry]) -> bool:
        """Publish ``entries`` in order, run by run of the same route; False at a failure."""
        entries = [entry for entry in entries if not self._dead_lettered(nc, entry)]
        routes = [await self._route(nc, entry) for entry in entries]
        if None in routes:
            return False
        position = 0
        for through_stream, run in groupby(routes):
            count = len(list(run))
            group = entries[position : position + count]
            position += count
            if through_stream:
                delivered = await self._publish_stream(nc, group)
            else:
                delivered = (
                    [entry.seq for entry in group] if await self._publish_core(nc, group) else []
                )
            self.store.delete_outbox(delivered)
            if len(delivered) < len(group):
                return False
        return True

    def _dead_lettered(self, nc: NATS, entry: OutboxEntry) -> bool:
        """Whether ``entry`` can never be published, and so went to the dead letters."""
        subject = self._subject(entry)
        size = len(entry.payload.encode()) + _HEADER_ROOM
        if not _PUBLISHABLE_SUBJECT.fullmatch(subject):
            reason = f"{subject!r} is not a subject NATS accepts"
        elif size > nc.max_payload:
            reason = f"{size} bytes with headers exceed the NATS server's max_payload of "
            reason += str(nc.max_payload)
        else:
            return False
        self._bury(entry, reason)
        return True

    def _bury(self, entry: OutboxEntry, reason: str) -> None:
        """Move ``entry``, which can never be published, to the dead letters."""
        self.store.dead_letter(entry.seq, reason)
        logger.error(
            "dead letter: %s for %s cannot be published (%s); the outbox goes on without it",
            entry.msg_id,
            entry.subject_id,
            reason,
        )

    async def _route(self, nc: NATS, entry: OutboxEntry) -> bool | None:
        """True: through JetStream; False: core NATS; None: unknown now (retry later)."""
        try:
            return await self._stream_covers(nc, entry)
        except Exception as exc:
            logger.info("cannot tell whether a stream covers %s: %r", entry.subject_id, exc)
            return None

    async def _publish_stream(self, nc: NATS, entries: list[OutboxEntry]) -> list[int]:
        """Publish through JetStream, all at once; the seqs whose acknowledgement came."""
        acked = await asyncio.gather(*(self._publish_acked(nc, entry) for entry in entries))
        return [entry.seq for entry, ok in zip(entries, acked, strict=True) if ok]

    async def _publish_acked(self, nc: NATS, entry: OutboxEntry) -> bool:
        subject = self._subject(entry)
        try:
            with self._traced(entry, subject) as trace_headers:
                await nc.jetstream().publish(
                    subject,
                    entry.payload.encode(),
                    headers={"Nats-Msg-Id": entry.msg_id, **trace_headers},
                    timeout=self.ack_timeout,
                )
            return True
        except BadRequestError as exc:  # the stream refuses it (over its max_msg_size, ...)
            self._bury(entry, f"the stream refused it: {exc}")
            return True  # no longer in the outbox
        except Exception as exc:  # no ack (NATS down, no stream leader): kept, retried
            if isinstance(exc, NoStreamResponseError):
                self._covered.pop(entry.subject_id, None)  # the stream may be gone: look again
            logger.warning("JetStream publish to %s failed (%r); will retry", subject, exc)
            return False

    async def _publish_core(self, nc: NATS, entries: list[OutboxEntry]) -> bool:
        """Publish through core NATS; True once a flush proved the server has them all."""
        try:
            for entry in entries:
                subject = self._subject(entry)
                with self._traced(entry, subject) as trace_headers:
                    await nc.publish(
                        subject,
                        entry.payload.encode(),
                        headers={"Nats-Msg-Id": entry.msg_id, **trace_headers},
                    )
            await nc.flush(timeout=math.ceil(self.ack_timeout))  # typed as whole seconds
            return True
        except Exception as exc:  # kept and retried; subscribers deduplicate
            logger.warning("core NATS publish failed (%r); will retry", exc)
            return False

    def _traced(
        self, entry: OutboxEntry, subject: str
    ) -> contextlib.AbstractContextManager[dict[str, str]]:
        """Around publishing ``entry`` on ``subject``: its trace headers (see ServerTracing)."""
        return self.tracing.publishing(entry.trace_context, subject, self._response_subject(entry))

    def _response_subject(self, entry: OutboxEntry) -> str:
        return response_subject(self.subject_template, entry.subject_id)

    def _subject(self, entry: OutboxEntry) -> str:
        subject = self._response_subject(entry)
        if not self.per_session_subjects:
            return subject
        # Both payload schemas carry the session: no column of its own in the outbox.
        return session_subject(subject, json.loads(entry.payload)["session_id"])

    async def _stream_covers(self, nc: NATS, entry: OutboxEntry) -> bool:
        """Whether a stream covers ``entry``'s subject; raises while JetStream cannot tell.
        Known per ``subject_id``, not per session: one lookup for all sessions of a subject."""
        covered = self._covered.get(entry.subject_id)
        if covered is not None:
            return covered
        try:
            await nc.jetstream().find_stream_name_by_subject(self._subject(entry))
            covered = True
        except NotFoundError:
            covered = False
        except ServiceUnavailableError as exc:
            if exc.err_code is not None:  # JetStream exists but is (briefly) unavailable
                raise
            # No responders: no JetStream on this server. Not cached: it may get one.
            return False
        self._covered[entry.subject_id] = covered
        return covered
