"""Publishes answers and session status events on NATS, exactly as ``asyncapi.yaml`` says."""

from __future__ import annotations

import json
import logging
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from ..payloads import answer_payload
from ..subjects import DEFAULT_SUBJECT_TEMPLATE, response_subject
from .store import utc_now

__all__ = ["EventPublisher"]

logger = logging.getLogger(__name__)


class EventPublisher:
    """One NATS connection of the server. Publishes through JetStream when a stream covers the
    subject (deduplicated by ``Nats-Msg-Id``), through core NATS otherwise.

    A failed publish is logged, never raised: the answer is stored first, and clients re-check
    the REST API after reconnecting, so nothing is lost.
    """

    def __init__(self, nats_url: str, *, subject_template: str = DEFAULT_SUBJECT_TEMPLATE) -> None:
        self.nats_url = nats_url
        self.subject_template = subject_template
        self._nc: NATS | None = None
        self._covered: dict[str, bool] = {}

    async def connect(self) -> None:
        """Connect, retrying for ever across server restarts."""
        self._nc = await nats.connect(
            self.nats_url.split(","),
            name="session-reference-server",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.1,
            connect_timeout=2,
        )

    async def ensure_stream(self, name: str = "SESSION_RESPONSES") -> None:
        """Create a JetStream stream covering every response subject, if the template allows."""
        from ..subjects import stream_subject

        subject = stream_subject(self.subject_template)
        if self._nc is None or subject is None:
            return
        await self._nc.jetstream().add_stream(name=name, subjects=[subject], duplicate_window=120.0)
        self._covered.clear()

    async def close(self) -> None:
        """Drain and close the connection (just close it while it is reconnecting)."""
        nc = self._nc
        if nc is None or nc.is_closed:
            return
        try:
            if nc.is_connected:
                await nc.drain()
            else:  # nats-py refuses to drain a connection that is down
                await nc.close()
        except Exception as exc:  # the server is stopping anyway; a lost socket is expected
            logger.debug("closing the NATS connection failed: %r", exc)

    async def publish_answer(self, message: dict[str, Any]) -> None:
        """Publish the answered ``message`` to its subject (no subject: nothing to publish)."""
        if message["subject_id"] is None:
            return
        await self._publish(message["subject_id"], answer_payload(message), message["message_id"])

    async def publish_status(self, session_id: str, status: str, subject_ids: list[str]) -> None:
        """Publish a ``session.status`` event on every subject that may have a waiter."""
        payload = {"event": "session.status", "session_id": session_id, "status": status}
        payload["at"] = utc_now()
        for subject_id in subject_ids:
            await self._publish(subject_id, payload, f"status:{session_id}:{status}")

    async def _publish(self, subject_id: str, payload: dict[str, Any], msg_id: str) -> None:
        nc = self._nc
        if nc is None:
            return
        subject = response_subject(self.subject_template, subject_id)
        data = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Nats-Msg-Id": msg_id}
        try:
            if await self._stream_covers(nc, subject):
                try:
                    await nc.jetstream().publish(subject, data, headers=headers, timeout=2)
                    return
                except Exception as exc:  # e.g. no ack while the stream elects a leader
                    logger.info(
                        "JetStream publish to %s failed (%s); using core NATS", subject, exc
                    )
            # Core NATS still reaches every subscriber; nats-py buffers it across a reconnect.
            await nc.publish(subject, data, headers=headers)
        except Exception as exc:  # logged, not raised: see the class docstring
            logger.warning(
                "publish to %s failed (%s); the answer stays in the REST API", subject, exc
            )

    async def _stream_covers(self, nc: NATS, subject: str) -> bool:
        covered = self._covered.get(subject)
        if covered is None:
            try:
                await nc.jetstream().find_stream_name_by_subject(subject)
                covered = True
            except NotFoundError:
                covered = False
            self._covered[subject] = covered
        return covered
