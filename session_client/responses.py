"""Receiving answers over NATS: one shared, reference-counted subscription per subject.

Many concurrent waits share one NATS connection. Each distinct response subject has exactly one
subscription while at least one waiter needs it; the subscription's callback routes every
payload to the waiters of its session. Subscriptions are flushed to the server before the
caller sends its message, so even an instant answer is not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from .config import redact_url
from .errors import NatsUnavailableError, SessionExpiredError, SessionRejectedError

if TYPE_CHECKING:  # nats (~30 ms to import) is imported on the first connect
    from nats.aio.client import Client as NATS
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

__all__ = ["ResponseRouter", "Waiter"]

logger = logging.getLogger("session_client.responses")

# Answers kept per session while one of its waiters does not yet know its message id; past
# either limit (count, or payload bytes: a flood of huge payloads), the waiter re-checks the
# REST API instead, so nothing is lost.
_EARLY_ANSWER_LIMIT = 10_000
_EARLY_ANSWER_BYTES = 4 * 1024 * 1024
_CLOSED_ERRORS = {"FAILED": SessionRejectedError, "EXPIRED": SessionExpiredError}
# How long a subscription may take to be confirmed (nats-py's own flush timeout).
_CONFIRM_TIMEOUT = 10.0
_PING = b"PING\r\n"


def _write_ping(nc: NATS, pong: asyncio.Future[bool]) -> None:
    """Write nats-py's buffered commands (new SUBs among them), then a PING whose PONG settles
    ``pong``: in that order, in one go.

    nats-py's ``flush()`` writes its PING straight to the socket while SUBs wait in its pending
    buffer for its flusher task, so the PONG could come back before the server saw the SUB,
    and an instant answer was lost (``make bench`` lost about one in 200). Waiting for the
    flusher task instead would cost two more loop turns per wait. ``pong`` must never be
    cancelled: nats-py's read loop dies when a cancelled PONG future's PONG arrives
    (InvalidStateError, nats-io/nats.py#914) - the connection looks alive but delivers nothing.
    """
    from nats.aio.transport import TcpTransport

    transport = nc._transport
    if transport is None:
        raise NatsUnavailableError("not connected to NATS")
    if nc._pending_data_size:  # what nats-py's flusher task does, done now
        transport.writelines(nc._pending)
        nc._pending = []
        nc._pending_data_size = 0
    transport.write(_PING)
    nc._pongs.append(pong)  # after the write: a PING that failed must not take a PONG
    flushes = nc._flush_queue
    if not isinstance(transport, TcpTransport) and flushes is not None and not flushes.full():
        # A websocket transport only queues what is written until drain(): have nats-py's
        # flusher drain it, as nats-py's own PING does (one drainer keeps frames in order).
        nc._pending_data_size += len(_PING)
        flushes.put_nowait(asyncio.get_running_loop().create_future())


class _Confirmation:
    """One PING confirming every subscription made before it was sent; ``done`` settles on
    its PONG, or fails at the deadline (``_CONFIRM_TIMEOUT``) or when the client closes.

    Driven by callbacks, not a task: no extra loop turns on the way of every wait.
    """

    __slots__ = ("_deadline", "_nc", "done")

    def __init__(self, nc: NATS) -> None:
        loop = asyncio.get_running_loop()
        self._nc = nc
        self.done: asyncio.Future[None] = loop.create_future()
        self._deadline = loop.call_later(
            _CONFIRM_TIMEOUT,
            self.fail,
            NatsUnavailableError(f"NATS did not confirm within {_CONFIRM_TIMEOUT:g} s"),
        )

    def ping(self) -> None:
        """Send a PING (again, after a reconnect dropped nats-py's pending PONG futures).
        While disconnected there is nothing to write: the reconnect will ping."""
        if self.done.done() or not self._nc.is_connected:
            return
        pong: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        pong.add_done_callback(self._ponged)
        try:
            _write_ping(self._nc, pong)
        except Exception as exc:  # a broken transport: fail now, not at the deadline
            self.fail(NatsUnavailableError(f"cannot confirm the subscription: {exc!r}"))

    def _ponged(self, pong: asyncio.Future[bool]) -> None:
        if not pong.cancelled() and not self.done.done():
            self._deadline.cancel()
            self.done.set_result(None)

    def fail(self, error: NatsUnavailableError) -> None:
        """End the wait with ``error`` unless the PONG came first."""
        if not self.done.done():
            self._deadline.cancel()
            self.done.set_exception(error)
            self.done.exception()  # retrieved: every caller may have been cancelled


def _cancel_requests() -> int:
    """How many cancellations of the current task are pending (see ``_reraise_swallowed``)."""
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


def _reraise_swallowed(requested: int) -> None:
    """Re-raise a cancellation a nats-py call swallowed since ``_cancel_requests()`` said
    ``requested``: its ``_flush_pending`` (behind ``subscribe`` and ``unsubscribe``) catches
    ``CancelledError``, and a caller's timeout or cancel would then be lost. The call's own
    result must be kept first (a subscription to undo)."""
    if _cancel_requests() > requested:
        raise asyncio.CancelledError


class _CreatorCancelled(Exception):
    """The caller making a shared subscription was cancelled; its joiners subscribe anew."""


class Waiter:
    """One caller waiting for the answer to one message (or any message) of a session."""

    __slots__ = ("changes_seen", "future", "message_id", "session_id", "subject")

    def __init__(self, subject: str, session_id: str, message_id: str | None) -> None:
        self.subject = subject
        self.session_id = session_id
        self.message_id = message_id
        #: :attr:`ResponseRouter.connection_changes` when this waiter subscribed.
        self.changes_seen = 0
        self.future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def resolve(self, payload: dict[str, Any]) -> None:
        """Settle with ``payload`` unless already settled (duplicates are dropped)."""
        if not self.future.done():
            self.future.set_result(payload)

    def fail(self, error: BaseException) -> None:
        """Settle with ``error`` unless already settled."""
        if not self.future.done():
            self.future.set_exception(error)
            # Its caller may be gone (cancelled, or failing to subscribe): no "never retrieved".
            self.future.exception()


class _SessionGroup:
    """The waiters of one session on one subject, indexed so a payload finds its waiter in O(1).

    With one subject per wait, 10,000 pending waits make 10,000 groups: the indexes other than
    ``by_message`` exist only while they hold something (an empty dict is 64 bytes, a set 216).
    """

    __slots__ = ("any_message", "awaiting_id", "by_message", "early", "early_bytes", "overflowed")

    def __init__(self) -> None:
        self.by_message: dict[str, list[Waiter]] = {}
        self.any_message: dict[Waiter, None] | None = None
        # Subscribed before sending: their message id comes with the send's HTTP response, and
        # their answer may come first. Answers seen meanwhile wait in ``early``.
        self.awaiting_id: dict[Waiter, None] | None = None
        self.early: dict[str, dict[str, Any]] | None = None
        self.early_bytes = 0
        self.overflowed = False

    def __bool__(self) -> bool:
        return bool(self.by_message or self.any_message or self.awaiting_id)

    def all_waiters(self) -> list[Waiter]:
        waiters = [*(self.any_message or ()), *(self.awaiting_id or ())]
        for group in self.by_message.values():
            waiters.extend(group)
        return waiters

    def add(self, waiter: Waiter, awaiting_id: bool) -> None:
        if awaiting_id:
            if self.awaiting_id is None:
                self.awaiting_id = {}
            self.awaiting_id[waiter] = None
        elif waiter.message_id is None:
            if self.any_message is None:
                self.any_message = {}
            self.any_message[waiter] = None
        else:
            self.by_message.setdefault(waiter.message_id, []).append(waiter)

    def remove(self, waiter: Waiter) -> bool:
        """Forget ``waiter``; tell whether it was here."""
        if self.awaiting_id is not None and waiter in self.awaiting_id:
            del self.awaiting_id[waiter]
            self._forget_early()
            return True
        if self.any_message is not None and waiter in self.any_message:
            del self.any_message[waiter]
            if not self.any_message:
                self.any_message = None
            return True
        waiters = self.by_message.get(waiter.message_id or "")
        if waiters is None or waiter not in waiters:
            return False
        waiters.remove(waiter)
        if not waiters:
            del self.by_message[waiter.message_id or ""]
        return True

    def _forget_early(self) -> None:
        if not self.awaiting_id:
            self.awaiting_id = self.early = None
            self.early_bytes = 0
            self.overflowed = False

    def expect(self, waiter: Waiter, message_id: str) -> bool:
        """Give ``waiter`` its message id; settle it if its answer came early. Returns False
        when an early answer may have been dropped, so the REST API must be asked."""
        complete = not self.overflowed
        if self.awaiting_id is not None:
            self.awaiting_id.pop(waiter, None)
        waiter.message_id = message_id
        self.by_message.setdefault(message_id, []).append(waiter)
        early = self.early.get(message_id) if self.early is not None else None
        self._forget_early()
        if early is not None:
            waiter.resolve(early)
            return True
        return complete

    def offer(self, payload: dict[str, Any], size: int) -> None:
        """Route ``payload`` (``size`` bytes on the wire) to the waiters it settles."""
        if payload.get("event") == "session.status":
            error = _CLOSED_ERRORS.get(str(payload.get("status")))
            if error is not None:
                for waiter in self.all_waiters():
                    waiter.fail(error(waiter.session_id, waiter.message_id))
            return
        message_id = payload.get("message_id")
        if message_id is None:
            # No message id: the session match is all there is.
            for waiter in self.all_waiters():
                waiter.resolve(payload)
            return
        if not isinstance(message_id, str):
            # Malformed, not absent: it must not settle every waiter of the session.
            logger.warning("skipping a payload whose message_id is not a string")
            return
        for waiter in (*self.by_message.get(message_id, ()), *(self.any_message or ())):
            waiter.resolve(payload)
        if self.awaiting_id:
            if self.early is None:
                self.early = {}
            if message_id in self.early:
                return
            if (
                len(self.early) < _EARLY_ANSWER_LIMIT
                and self.early_bytes + size <= _EARLY_ANSWER_BYTES
            ):
                self.early[message_id] = payload
                self.early_bytes += size
            else:
                self.overflowed = True


class _SubjectEntry:
    """One subject's subscription and the waiters it serves, by session."""

    __slots__ = ("count", "ready", "sessions", "subscription")

    def __init__(self, ready: asyncio.Future[None]) -> None:
        self.subscription: Subscription | None = None
        #: Settled when the server has the subscription; None once it had it (less to keep).
        self.ready: asyncio.Future[None] | None = ready
        self.sessions: dict[str, _SessionGroup] = {}
        self.count = 0

    def dispatch(self, msg: Msg) -> None:
        """Route ``msg`` to the waiters it settles."""
        try:
            payload = json.loads(msg.data)
        except (ValueError, RecursionError):  # RecursionError: hostile deep nesting
            logger.warning("skipping a non-JSON payload on %s", msg.subject)
            return
        if not isinstance(payload, dict):
            logger.warning("skipping a payload that is not a JSON object on %s", msg.subject)
            return
        session_id = payload.get("session_id")
        group = self.sessions.get(session_id) if isinstance(session_id, str) else None
        if group is None:
            logger.debug("skipping a payload for session %r on %s", session_id, msg.subject)
            return
        group.offer(payload, len(msg.data))


class _InlineDelivery:
    """Where nats-py delivers a subject's messages: routed at once, as its read loop reads them.

    It stands in for the future of nats-py's ``subscribe(future=...)``, for which nats-py calls
    ``set_result(msg)`` for every message, straight from its read loop, after checking
    ``cancelled()``. A subscription with a callback instead gets an ``asyncio.Queue`` and a task
    of its own: about 1 KiB more per subject, a task switch per message, and a buffer that
    drops messages (slow consumer) when it fills. Here nothing queues, so nothing is dropped:
    a flood only slows the reading of the socket. ``tests/integration/test_subscribe_order.py``
    checks this use of nats-py against a real server.
    """

    __slots__ = ("_entry",)

    def __init__(self, entry: _SubjectEntry) -> None:
        self._entry = entry

    def cancelled(self) -> bool:
        """Never: the subscription lives until it is unsubscribed."""
        return False

    def set_result(self, msg: Msg) -> None:
        """Route ``msg``. Never raises: an exception would stop nats-py's read loop for good
        (nats-io/nats.py#914)."""
        try:
            self._entry.dispatch(msg)
        except Exception:
            logger.exception("routing a message on %s failed", msg.subject)


class ResponseRouter:
    """Owns the client's one NATS connection and routes payloads to :class:`Waiter` objects.

    The connection is made on the first :meth:`register` and reused until :meth:`close`.
    ``on_connection_change`` is called at every disconnect and reconnect: an answer may have
    been missed meanwhile.
    """

    def __init__(
        self,
        servers: list[str],
        connect_options: dict[str, Any],
        on_connection_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._servers = servers
        self._connect_options = connect_options
        self._on_connection_change = on_connection_change
        self._nc: NATS | None = None
        self._connect_lock = asyncio.Lock()
        self._entries: dict[str, _SubjectEntry] = {}
        #: True while the connection is down and nats-py is reconnecting.
        self.disconnected = False
        #: Disconnects and reconnects so far: a waiter that saw fewer may have missed its answer.
        self.connection_changes = 0
        #: Confirmations sent and not yet settled: a reconnect pings them again, close fails them.
        self._confirmations: set[_Confirmation] = set()
        self._next_confirmation: _Confirmation | None = None

    @property
    def connection(self) -> NATS | None:
        """The NATS connection, once made."""
        return self._nc

    @property
    def subscription_count(self) -> int:
        """How many response subscriptions are open (0 when nobody waits)."""
        return len(self._entries)

    async def _connect(self) -> NATS:
        if self._nc is not None and not self._nc.is_closed:
            return self._nc
        async with self._connect_lock:
            if self._nc is None or self._nc.is_closed:
                self._nc = await self._first_connect()
            return self._nc

    async def _first_connect(self) -> NATS:
        options: dict[str, Any] = {
            "name": "session_client",
            # Once connected, never give up: waits survive server restarts.
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": 0.5,
            "connect_timeout": 2,
            **self._connect_options,
            "error_cb": self._on_error,
            "disconnected_cb": self._on_disconnected,
            "reconnected_cb": self._on_reconnected,
        }
        # nats-py retries the first connect for ever too; bound it so an unreachable server is
        # a clear error rather than a silent wait.
        limit = float(options["connect_timeout"]) * len(self._servers) + 1.0
        from nats.aio.client import Client as NATS

        nc = NATS()
        try:
            async with asyncio.timeout(limit):
                await nc.connect(self._servers, **options)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise NatsUnavailableError(
                f"cannot connect to NATS at {', '.join(map(redact_url, self._servers))}: {exc!r}"
            ) from exc
        return nc

    async def _on_error(self, error: Exception) -> None:
        # Protocol errors and disconnects are logged; reconnects recover.
        logger.warning("NATS error: %r", error)

    def _connection_changed(self) -> None:
        self.connection_changes += 1
        self._on_connection_change()

    async def _on_disconnected(self) -> None:
        logger.info("NATS disconnected; waiters poll the REST API until it is back")
        self.disconnected = True
        self._connection_changed()

    async def _on_reconnected(self) -> None:
        logger.info("NATS reconnected; waiters re-check the REST API")
        self.disconnected = False
        for confirmation in list(self._confirmations):
            # nats-py dropped the PONG futures of the old connection. The next confirmation
            # is not sent yet: a PING now could come before SUBs it must cover.
            if confirmation is not self._next_confirmation:
                confirmation.ping()
        self._connection_changed()

    async def register(
        self, subject: str, session_id: str, message_id: str | None, *, awaiting_id: bool = False
    ) -> Waiter:
        """Start listening on ``subject`` for ``session_id``; returns once the server has the
        subscription. ``awaiting_id``: the message id will be given later (:meth:`Waiter.expect`).
        Always pair with :meth:`release`."""
        nc = await self._connect()
        while True:
            waiter = Waiter(subject, session_id, message_id)
            waiter.changes_seen = self.connection_changes
            entry = self._entries.get(subject)
            if entry is not None:
                self._add(entry, waiter, awaiting_id)
                if entry.ready is None:
                    return waiter
                try:
                    await asyncio.shield(entry.ready)
                    return waiter
                except _CreatorCancelled:
                    continue  # another caller's cancellation is no reason to fail this one
                except BaseException as exc:
                    await self.release(waiter)
                    raise self._unavailable(exc) from exc
            ready = asyncio.get_running_loop().create_future()
            entry = _SubjectEntry(ready)
            self._entries[subject] = entry
            self._add(entry, waiter, awaiting_id)
            try:
                requested = _cancel_requests()
                entry.subscription = await nc.subscribe(
                    subject, future=cast("asyncio.Future[Msg]", _InlineDelivery(entry))
                )
                _reraise_swallowed(requested)  # after keeping it: _abandon unsubscribes
                await asyncio.shield(self._confirmation(nc))
            except BaseException as exc:
                await self._abandon(entry, ready, subject, exc)
                raise self._unavailable(exc) from exc
            entry.ready = None
            ready.set_result(None)
            return waiter

    def _confirmation(self, nc: NATS) -> asyncio.Future[None]:
        """A confirmation covering every subscription made so far, shared by every caller that
        subscribed before its PING went out: one PING for a burst of subscriptions, not one
        each. Callers await it shielded, so that one caller's cancellation is not everyone's.
        """
        confirmation = self._next_confirmation
        if confirmation is None:
            confirmation = self._next_confirmation = _Confirmation(nc)
            self._confirmations.add(confirmation)
            confirmation.done.add_done_callback(lambda _: self._confirmations.discard(confirmation))
            # Sent on the next loop turn: the SUBs of this turn's other callers go with it.
            asyncio.get_running_loop().call_soon(self._send, confirmation)
        return confirmation.done

    def _send(self, confirmation: _Confirmation) -> None:
        # Sent: a SUB made from now on may miss this PING, so it needs the next one.
        self._next_confirmation = None
        confirmation.ping()

    async def _abandon(
        self, entry: _SubjectEntry, ready: asyncio.Future[None], subject: str, exc: BaseException
    ) -> None:
        """A subscription could not be made: forget it, so the next wait starts afresh. The
        waiters that joined it meanwhile fail with it, or, if only its creator was cancelled,
        subscribe again."""
        if self._entries.get(subject) is entry:
            del self._entries[subject]
        ready.set_exception(
            _CreatorCancelled()
            if isinstance(exc, asyncio.CancelledError)
            else NatsUnavailableError(f"cannot subscribe to {subject}: {exc!r}")
        )
        ready.exception()  # retrieved: there may be no joiner to await it
        if entry.subscription is not None:
            with contextlib.suppress(Exception):
                await entry.subscription.unsubscribe()

    @staticmethod
    def _unavailable(exc: BaseException) -> BaseException:
        if isinstance(exc, asyncio.CancelledError | NatsUnavailableError):
            return exc
        return NatsUnavailableError(f"cannot subscribe: {exc!r}")

    @staticmethod
    def _add(entry: _SubjectEntry, waiter: Waiter, awaiting_id: bool) -> None:
        group = entry.sessions.get(waiter.session_id)
        if group is None:
            group = entry.sessions[waiter.session_id] = _SessionGroup()
        group.add(waiter, awaiting_id)
        entry.count += 1

    def expect(self, waiter: Waiter, message_id: str) -> bool:
        """Tell a waiter registered with ``awaiting_id`` its message id. Returns False if its
        answer may have been missed (too many early answers), so the REST API must be asked."""
        entry = self._entries.get(waiter.subject)
        group = entry.sessions.get(waiter.session_id) if entry is not None else None
        if group is None:
            waiter.message_id = message_id
            return False
        return group.expect(waiter, message_id)

    async def release(self, waiter: Waiter) -> None:
        """Stop waiting; the subject's subscription ends with its last waiter."""
        entry = self._entries.get(waiter.subject)
        group = entry.sessions.get(waiter.session_id) if entry is not None else None
        if entry is None or group is None or not group.remove(waiter):
            return
        if not group:
            del entry.sessions[waiter.session_id]
        entry.count -= 1
        if entry.count == 0:
            del self._entries[waiter.subject]
            subscription = entry.subscription
            if subscription is not None and self._nc is not None and not self._nc.is_closed:
                try:
                    requested = _cancel_requests()
                    await subscription.unsubscribe()
                    _reraise_swallowed(requested)
                except Exception as exc:  # a closing connection drops it anyway
                    logger.debug("unsubscribe from %s failed: %r", waiter.subject, exc)

    async def close(self) -> None:
        """Close the connection; waiters still pending fail with :class:`NatsUnavailableError`."""
        for entry in list(self._entries.values()):
            for group in entry.sessions.values():
                for waiter in group.all_waiters():
                    waiter.fail(NatsUnavailableError("the client was closed"))
        self._entries.clear()
        for confirmation in list(self._confirmations):  # now, not at their deadline
            confirmation.fail(NatsUnavailableError("the client was closed"))
        nc, self._nc = self._nc, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except Exception as exc:
                logger.debug("closing NATS failed: %r", exc)
