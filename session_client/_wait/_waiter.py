"""``ResponseWaiter``: every pending wait of one client, and everything that settles it.

It owns the NATS link, the routing table, the per-subject recovery rounds and the REST
checks. A wait is settled by the first of: its answer on NATS, the same answer replayed from the
JetStream stream after an outage, a REST record of its message (answered, cancelled or expired),
or a confirmed end of its session.

Subscriptions (``asyncapi.yaml``): one per session and subject with waits, on the session
subject, so NATS delivers only the answers this process waits for. A session subscription
outlives its last wait by about a second (:mod:`._linger`): the next wait of the session takes it
back without a SUB and a PING, and expired ones end together, in one write. Servers of contract 1.0
publish on the subject-wide subject instead: until an answer arrives on a session subject,
which proves the server publishes there, each subject with waits also has a subscription to its
subject-wide form; the first such answer ends them for the life of the client.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._rest import MAX_CONNECTIONS
from .._telemetry import Telemetry
from ..errors import (
    BadRequestError,
    ClientClosedError,
    NatsUnavailableError,
    SessionClosedError,
    UnprocessableEntityError,
)
from ..subjects import session_subject, subject_wide
from ._due import DueTimes
from ._linger import Linger
from ._nats import NatsLink, OnMessage, where
from ._payloads import Answer, parse_payload
from ._records import closed_session_error, record_outcome
from ._routing import RoutingTable, Wait
from ._schedule import Round, Schedule, jittered, server_clock_offset

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS
    from nats.aio.subscription import Subscription

    from .._rest import RestClient
    from ..config import CallOptions

__all__ = ["ResponseWaiter", "Wait"]

logger = logging.getLogger("session_client.waits")

#: REST calls that recovery may have in flight at once: a small share of the HTTP pool, so
#: that calls made during a recovery are not starved by it.
RECOVERY_SLOTS = max(1, MAX_CONNECTIONS // 5)
# This host, the session server and NATS may disagree on the time: reach back this much
# further. Asking for too much only costs answers that are dropped as duplicates.
_CLOCK_SKEW = 60.0
_PAGE_SIZE = 1000
#: How long a session subscription outlives its last wait (up to twice that: expired ones are
#: ended together, at most once per this period), and how many may linger at once.
LINGER_SECONDS = 0.5
LINGER_LIMIT = 256
#: Rounds due this far ahead or more (the safety net's) share one timer (:mod:`._due`), and run
#: up to ``_FAR_SLACK`` late: most waits end before, and a timer per subject would be waste.
_FAR, _FAR_SLACK = 10.0, 1.0


class _CreatorCancelled(Exception):
    """The caller making a shared subscription was cancelled; its joiners subscribe anew."""


class _Listener:
    """One NATS subscription, shared by the waits that need it."""

    __slots__ = ("ready", "subscription")

    def __init__(self) -> None:
        self.subscription: Subscription | None = None
        #: Settled when the server has the subscription; None once it had it.
        self.ready: asyncio.Future[None] | None = asyncio.get_running_loop().create_future()

    def confirmed(self, subscription: Subscription) -> None:
        """The server has ``subscription``: the waits joining it may go on."""
        self.subscription = subscription
        ready, self.ready = self.ready, None
        if ready is not None:
            ready.set_result(None)

    def failed(self, subject: str, exc: BaseException) -> None:
        """The subscription could not be made: its joiners fail with it, or, if only its
        creator was cancelled, subscribe again."""
        ready, self.ready = self.ready, None
        if ready is not None:
            ready.set_exception(
                _CreatorCancelled()
                if isinstance(exc, asyncio.CancelledError)
                else NatsUnavailableError(f"cannot subscribe to {subject}: {exc!r}")
            )
            ready.exception()  # retrieved: there may be no joiner to await it


class _SubjectState:
    """One subject's recovery rounds."""

    __slots__ = ("cursor", "rechecks", "replay_from", "schedule", "subject_id", "task", "timer")

    def __init__(self, subject_id: str, *, disconnected: bool) -> None:
        self.subject_id = subject_id
        self.schedule = Schedule(disconnected=disconnected)
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        #: Where ``listSettledMessages`` resumes for this subject.
        self.cursor: str | None = None
        #: Wall-clock time from which an outage may have dropped messages, until recovered.
        self.replay_from: float | None = None
        #: How many times the REST API was asked for the subject's settled messages.
        self.rechecks = 0

    def stop(self) -> None:
        """Cancel the next round and the one in flight."""
        if self.timer is not None:
            self.timer.cancel()
        if self.task is not None:
            self.task.cancel()
        self.timer = self.task = None


def _made(*listeners: _Listener | None) -> list[_Listener]:
    """The ``listeners`` whose subscription is made, taken out of their dict: one still being
    made ends itself once made (:meth:`ResponseWaiter._subscribe`), and must not end twice."""
    return [each for each in listeners if each is not None and each.subscription is not None]


def _unavailable(exc: BaseException) -> BaseException:
    if isinstance(exc, asyncio.CancelledError | NatsUnavailableError | ClientClosedError):
        return exc
    return NatsUnavailableError(f"cannot subscribe: {exc!r}")


class ResponseWaiter:
    """The waits of one client: :meth:`register` before sending, :meth:`release` after."""

    def __init__(
        self,
        servers: list[str],
        connect_options: dict[str, Any],
        rest: RestClient,
        telemetry: Telemetry,
    ) -> None:
        self._servers = servers
        self._link = NatsLink(
            servers,
            connect_options,
            on_disconnected=self._disconnected,
            on_reconnected=self._reconnected,
            on_closed=self._connection_closed,
        )
        self._rest = rest
        self._telemetry = telemetry
        self._table = RoutingTable()
        self._subjects: dict[str, _SubjectState] = {}
        #: Subscriptions by session subject, and by subject-wide subject (contract 1.0).
        self._sessions: dict[str, _Listener] = {}
        self._legacy: dict[str, _Listener] = {}
        #: Until an answer arrives on a session subject: the server may publish subject-wide.
        self._legacy_open = True
        self._budget = asyncio.Semaphore(RECOVERY_SLOTS)
        self._confirming: dict[str, asyncio.Task[None]] = {}
        #: Session subscriptions with no wait left, by session subject, until they end.
        self._lingering: Linger[str, _Listener] = Linger(LINGER_SECONDS, LINGER_LIMIT)
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._far: DueTimes[str] = DueTimes(_FAR_SLACK)
        self._far_timer: asyncio.TimerHandle | None = None
        self._ending: set[asyncio.Task[None]] = set()

    @property
    def link(self) -> NatsLink:
        """The NATS connection the waits use; the durable consumers share it."""
        return self._link

    @property
    def rest(self) -> RestClient:
        """The REST client the waits confirm with."""
        return self._rest

    @property
    def connection(self) -> NATS | None:
        """The nats-py client, once connected."""
        return self._link.connection

    @property
    def subscription_count(self) -> int:
        """How many response subscriptions are open (0 about a second after the last wait)."""
        return len(self._sessions) + len(self._legacy) + len(self._lingering)

    # -- registering ------------------------------------------------------------------------

    async def register(
        self, subject: str, subject_id: str, session_id: str, message_id: str | None
    ) -> Wait:
        """Listen on ``subject`` for the answer to ``message_id`` (None: any message) of
        ``session_id``: the server has the subscription when this returns, so nothing sent
        afterwards is missed. Always pair with :meth:`release` (a plain pair, not a context
        manager: an async generator's frame would stay alive, per pending wait, as long as it
        waits).

        The caller bounds it by the wait's deadline, in the one ``asyncio.timeout_at`` of the
        whole wait (a timer per wait, not two), and raises :meth:`not_ready` if that deadline
        passes here: the caller has sent nothing yet, so this is no timeout of an answer, which
        :class:`ResponseTimeoutError` would say (and "resume" with)."""
        started = self._telemetry.now()
        wait = await self._register(subject, subject_id, session_id, message_id)
        self._telemetry.wait_started(wait, started, self._rechecks(subject))
        return wait

    def not_ready(self) -> NatsUnavailableError:
        """What a wait raises when its deadline passed in :meth:`register`."""
        return NatsUnavailableError(
            f"{where(self._servers)} was not ready within the wait's timeout (connecting, "
            "or confirming the subscription): nothing was sent"
        )

    def _rechecks(self, subject: str) -> int:
        state = self._subjects.get(subject)
        return 0 if state is None else state.rechecks

    async def _register(
        self, subject: str, subject_id: str, session_id: str, message_id: str | None
    ) -> Wait:
        await self._link.connect()
        wait = Wait(subject, subject_id, session_id, message_id)
        if self._table.add(wait):
            state = self._subjects[subject] = _SubjectState(
                subject_id, disconnected=self._link.disconnected
            )
            self._arm(subject, state)
        try:
            await self._listen_session(session_subject(subject, session_id))
            if self._legacy_open:
                await self._listen(self._legacy, subject, self._on_message)
        except BaseException as exc:
            await self.release(wait)
            raise _unavailable(exc) from exc
        return wait

    async def _listen_session(self, subject: str) -> None:
        """Make sure the server has a subscription to the session subject ``subject``: take it
        back if it lingers (confirmed, unless the connection went down meanwhile), else make or
        join one."""
        listener = self._lingering.take(subject)
        if listener is not None:
            if not self._link.disconnected:
                self._sessions[subject] = listener
                return
            await self._end([listener])  # a new one waits for the server
        await self._listen(self._sessions, subject, self._on_session_message)

    async def _listen(
        self, listeners: dict[str, _Listener], subject: str, on_message: OnMessage
    ) -> None:
        """Make sure the server has a subscription to ``subject``: make it, or join the one
        being made."""
        while True:
            listener = listeners.get(subject)
            if listener is None:
                await self._subscribe(listeners, subject, on_message)
                return
            if listener.ready is None:
                return
            try:
                await asyncio.shield(listener.ready)
                return
            except _CreatorCancelled:
                continue  # another caller's cancellation is no reason to fail this one

    async def _subscribe(
        self, listeners: dict[str, _Listener], subject: str, on_message: OnMessage
    ) -> None:
        listener = listeners[subject] = _Listener()
        try:
            subscription = await self._link.subscribe(subject, on_message)
        except BaseException as exc:
            if listeners.get(subject) is listener:
                del listeners[subject]
            listener.failed(subject, exc)
            raise
        if listeners.get(subject) is not listener:
            # Dropped meanwhile: the subject-wide form ended, or the client closed.
            await self._link.unsubscribe(subscription)
        listener.confirmed(subscription)

    async def release(self, wait: Wait, unsettled: str = "cancelled") -> None:
        """Stop waiting; a subscription ends with the last wait that needs it. ``unsettled``:
        how the wait ended if nothing settled it (``timeout``, ``closed``, ``cancelled``)."""
        self._telemetry.wait_ended(wait, unsettled, self._rechecks(wait.subject))
        subject_left = self._table.remove(wait)
        ending: list[_Listener] = []
        if subject_left:
            # Its rounds and its subject-wide listener end: a wait registered once this awaits
            # gets its own, which nothing here ends.
            state = self._subjects.pop(wait.subject, None)
            if state is not None:
                state.stop()
                self._discard_due(wait.subject)
            ending = _made(self._legacy.pop(wait.subject, None))
        if not self._table.has_session(wait.subject, wait.session_id):
            ending += self._park(session_subject(wait.subject, wait.session_id))
        if ending:  # a caller cancelled meanwhile (its deadline) still leaves none open
            await asyncio.shield(self._end_soon(ending))

    def _park(self, subject: str) -> list[_Listener]:
        """Let the session subscription to ``subject`` linger (see :mod:`._linger`); returns
        those that must end now to stay within the limit."""
        listener = self._sessions.pop(subject, None)
        if listener is None or listener.subscription is None:
            return []  # none, or still being made: _subscribe ends it
        loop = asyncio.get_running_loop()
        if self._sweep_timer is None:
            self._sweep_timer = loop.call_later(self._lingering.duration, self._sweep)
        return self._lingering.park(subject, listener, loop.time())

    def _sweep(self) -> None:
        """End the subscriptions whose linger is over, all in one task (nats-py writes their
        UNSUBs together); come back while any linger."""
        loop = asyncio.get_running_loop()
        expired = self._lingering.expired(loop.time())
        self._sweep_timer = (
            loop.call_later(self._lingering.duration, self._sweep) if self._lingering else None
        )
        if expired:
            self._end_soon(expired)

    def _end_soon(self, listeners: list[_Listener]) -> asyncio.Task[None]:
        """:meth:`_end` in a task of its own, which :meth:`close` cancels."""
        task = asyncio.ensure_future(self._end(listeners))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)
        return task

    async def _end(self, listeners: list[_Listener]) -> None:
        """Unsubscribe ``listeners`` (those made: one still being made is ended by
        :meth:`_subscribe`)."""
        for listener in listeners:
            if listener.subscription is not None:
                await self._link.unsubscribe(listener.subscription)

    def _close_legacy(self) -> None:
        """The server publishes on session subjects: the subject-wide subscriptions go."""
        self._legacy_open = False
        logger.debug("answers arrive on session subjects: ending subject-wide subscriptions")
        listeners = _made(*self._legacy.values())
        self._legacy.clear()
        self._end_soon(listeners)

    # -- settling ---------------------------------------------------------------------------

    def _on_session_message(
        self, subject: str, data: bytes, headers: dict[str, str] | None
    ) -> None:
        """A payload on a session subject (``{subject}.{session_token}``)."""
        if self._route(subject.rpartition(".")[0], data, headers) and self._legacy_open:
            self._close_legacy()

    def _on_message(self, subject: str, data: bytes, headers: dict[str, str] | None) -> None:
        """A payload on a subject-wide subject (contract 1.0)."""
        self._route(subject, data, headers)

    def _route(
        self, subject: str, data: bytes, headers: dict[str, str] | None, via: str = "nats"
    ) -> bool:
        """Route a payload for the response subject ``subject`` (live, or replayed
        ``via="replay"``) to the waits it settles; False if the contract does not allow it."""
        item = parse_payload(data, headers, via)
        if item is None:
            logger.debug("skipping a payload for %s that asyncapi.yaml does not allow", subject)
            return False
        if isinstance(item, Answer):
            self._table.answer(subject, item)
        elif self._table.has_session(subject, item.session_id):
            self._confirm_closed(item.session_id)
        return True

    def settle_from_record(self, wait: Wait, message: Mapping[str, Any]) -> None:
        """Settle ``wait`` from a REST ``Message`` record of its message, if it is final."""
        outcome = record_outcome(message)
        if isinstance(outcome, Answer):
            wait.resolve(outcome)
        elif outcome is not None:
            wait.fail(outcome(wait.session_id, wait.message_id))

    async def check(self, wait: Wait, options: CallOptions) -> None:
        """Settle ``wait`` from the REST API if its message or session is already final
        (``options``: the caller's HTTP options)."""
        from .._session_api.api.messages import get_message

        if wait.message_id is not None:
            request = get_message.request(wait.session_id, wait.message_id)
            message = await self._rest.call(request, get_message.parse, options)
            self.settle_from_record(wait, message)
            return
        error = await self._closed_error(wait.session_id)
        if error is not None:
            wait.fail(error(wait.session_id, None))

    def _confirm_closed(self, session_id: str) -> None:
        """A status event says the session ended: anyone can publish one, so ask the REST API
        (once per session, however many waits it has) before ending its waits."""
        if session_id not in self._confirming:
            task = asyncio.ensure_future(self._confirm(session_id))
            self._confirming[session_id] = task
            task.add_done_callback(lambda _: self._confirming.pop(session_id, None))

    async def _confirm(self, session_id: str) -> None:
        ids = {"session_id": session_id}
        try:
            with self._telemetry.background(
                "session_client.confirm_status", {"session_client.session_id": session_id}
            ):
                async with self._budget:
                    error = await self._closed_error(session_id)
                if error is None:
                    logger.warning(
                        "ignoring a session.status event for %r: the REST API says it is open",
                        session_id,
                        extra=ids,
                    )
                    return
                self._table.fail_anything(session_id, error)
                # A wait for one message ends as its message did: it may have been answered
                # just before the session closed. One feed request per subject tells.
                for subject in self._table.subjects_awaiting_messages(session_id):
                    state = self._subjects.get(subject)
                    if state is not None:
                        await self._ask_rest(subject, state, "status_event")
        except Exception as exc:  # the recovery rounds will still see the closed messages
            logger.warning("cannot confirm the end of session %r: %r", session_id, exc, extra=ids)

    async def _closed_error(self, session_id: str) -> type[SessionClosedError] | None:
        """The error for waits of ``session_id`` if the REST API says it is closed."""
        return await closed_session_error(self._rest, session_id)

    # -- recovery rounds --------------------------------------------------------------------

    def _connection_closed(self) -> None:
        """nats-py gave up reconnecting: the subscriptions are gone with the connection."""
        self._forget_all(NatsUnavailableError("the NATS connection was closed for good"))

    def _forget_all(self, error: Exception) -> None:
        """Fail every wait and forget every subscription and round."""
        self._table.fail_all(error)
        for state in self._subjects.values():
            state.stop()
        self._subjects.clear()
        self._far.clear()
        self._stop_far_timer()
        self._sessions.clear()
        self._legacy.clear()
        self._lingering.clear()  # gone with the connection, or going with it
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None

    def _disconnected(self) -> None:
        lost_from = time.time() - self._link.detection_allowance
        for subject, state in self._subjects.items():
            if state.replay_from is None:
                state.replay_from = lost_from
            state.schedule.disconnected()
            self._rearm(subject, state)

    def _reconnected(self) -> None:
        self._telemetry.reconnected()
        for subject, state in self._subjects.items():
            state.schedule.reconnected()
            self._rearm(subject, state)

    def _rearm(self, subject: str, state: _SubjectState) -> None:
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        self._discard_due(subject)
        if state.task is None:  # a running round re-arms when done
            self._arm(subject, state)

    def _arm(self, subject: str, state: _SubjectState) -> None:
        recovering = state.schedule.recovering
        delay, kind = state.schedule.next_round()
        if recovering and not state.schedule.recovering:
            state.replay_from = None  # the outage is recovered
        delay, loop = jittered(delay, random.random()), asyncio.get_running_loop()
        if delay < _FAR or kind is not Round.REST:
            state.timer = loop.call_later(delay, self._start_round, subject, state, kind)
            return
        wake = self._far.add(subject, loop.time() + delay)
        if wake is not None:
            self._stop_far_timer()
            self._far_timer = loop.call_at(wake, self._far_due)

    def _discard_due(self, subject: str) -> None:
        """``subject`` has no far-off round any more; the timer goes with the last one (it
        would keep this waiter alive until it fired)."""
        if self._far.discard(subject):
            self._stop_far_timer()

    def _stop_far_timer(self) -> None:
        if self._far_timer is not None:
            self._far_timer.cancel()
            self._far_timer = None

    def _far_due(self) -> None:
        """Start the far-off rounds that are due (see :meth:`_arm`)."""
        loop = asyncio.get_running_loop()
        due, wake = self._far.expired(loop.time())
        self._far_timer = None if wake is None else loop.call_at(wake, self._far_due)
        for subject in due:
            state = self._subjects.get(subject)
            if state is not None:  # (a released subject's due time is discarded with it)
                self._start_round(subject, state, Round.REST)

    def _start_round(self, subject: str, state: _SubjectState, kind: Round) -> None:
        state.timer = None
        state.task = asyncio.ensure_future(self._round(subject, state, kind))

    async def _round(self, subject: str, state: _SubjectState, kind: Round) -> None:
        try:
            with self._telemetry.background(
                "session_client.recovery_round",
                {"messaging.destination.name": subject, "session_client.round": kind.value},
            ):
                if kind is Round.REPLAY and not self._link.disconnected:
                    if not await self._replay(subject, state):
                        await self._ask_rest(subject, state, "no_replay")
                else:
                    reason = "nats_down" if self._link.disconnected else "safety_net"
                    await self._ask_rest(subject, state, reason)
        except Exception as exc:  # NATS may still deliver; the next round tries again
            logger.warning("recovering the waits on %s failed: %r", subject, exc)
        state.task = None
        if self._subjects.get(subject) is state:
            self._arm(subject, state)

    async def _replay(self, subject: str, state: _SubjectState) -> bool:
        """Replay the subject from its stream; False if no stream covers it or it failed."""
        since = self._table.since(subject)
        if state.replay_from is not None:
            since = max(since, state.replay_from)
        # Every session subject of the subject, and the subject-wide form while it may be used.
        filters = [subject_wide(subject), *([subject] if self._legacy_open else [])]

        def route(_: str, data: bytes, headers: dict[str, str] | None) -> None:
            self._route(subject, data, headers, "replay")

        try:
            async with self._budget:
                for where in filters:
                    if not await self._link.replay(where, since - _CLOCK_SKEW, route):
                        return False
                return True
        except Exception as exc:
            logger.info(
                "replaying %s from its stream failed (%r); asking the REST API", subject, exc
            )
            return False

    async def _ask_rest(self, subject: str, state: _SubjectState, reason: str) -> None:
        """One page at a time, every message of the subject settled since its first wait
        (then since the last round), applied to the waits; and the sessions of waits for any
        message. ``reason``: why (for the metrics)."""
        from .._session_api.api.messages import list_settled_messages

        state.rechecks += 1
        self._telemetry.rechecked(reason)
        while True:
            where: dict[str, Any] = {"cursor": state.cursor}
            if state.cursor is None:
                # The server filters by its own clock: its Date header tells how far off ours is.
                since = (
                    self._table.since(subject) + server_clock_offset(self._rest.date) - _CLOCK_SKEW
                )
                where = {"settled_since": datetime.fromtimestamp(since, UTC)}
            try:
                async with self._budget:
                    page = await self._rest.call(
                        list_settled_messages.request(
                            subject_id=state.subject_id, limit=_PAGE_SIZE, **where
                        ),
                        list_settled_messages.parse,
                    )
            except (BadRequestError, UnprocessableEntityError):
                if state.cursor is None:
                    raise
                state.cursor = None  # a cursor the server no longer knows: start over by time
                continue
            for message in page["items"]:
                self._apply(subject, message)
            state.cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        for session_id in self._table.waiting_sessions(subject):
            async with self._budget:
                error = await self._closed_error(session_id)
            if error is not None:
                self._table.fail_anything(session_id, error)

    def _apply(self, subject: str, message: dict[str, Any]) -> None:
        outcome = record_outcome(message)
        if isinstance(outcome, Answer):
            self._table.answer(subject, outcome)
        elif outcome is not None:
            error = outcome
            self._table.fail_message(
                subject,
                message["session_id"],
                message["message_id"],
                lambda w: error(w.session_id, w.message_id),
            )

    # -- lifecycle --------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection; waits still pending fail with :class:`ClientClosedError`."""
        self._forget_all(ClientClosedError())
        for task in [*self._confirming.values(), *self._ending]:
            task.cancel()
        await self._link.close()
