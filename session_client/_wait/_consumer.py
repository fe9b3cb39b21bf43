"""Durable consumers: a subject's answers and session ends, shared as work by a group.

``responses(subject_id, group=...)`` joins the JetStream durable pull consumer named ``group``
(:meth:`._nats.NatsLink.durable`). Every member of the group - in this process or another -
fetches from it, so each item goes to one member; an item a member does not acknowledge is
redelivered to one after ``ack_wait``. A member acknowledges an item when its loop asks for
the next one, or when the loop ends normally (``async with`` / ``with``); the items it fetched
and never handed out are given back at once (``nak``). After a reconnect it sends its latest
acknowledgements again, if the group's consumer is still the one it joined: a stopping
server may have dropped them (:meth:`Member._reconnected`).

What arrives is checked as the waits check it (:func:`._payloads.parse_payload`), and a
``session.status`` event is handed out only once the REST API confirms it
(:func:`._records.closed_session_error`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from ..consumed import Answered, ConsumedItem, SessionEnded
from ..errors import NatsUnavailableError, SessionRejectedError
from ._holding import Holding
from ._nats import deliveries
from ._payloads import Answer, StatusEvent, parse_payload
from ._records import closed_session_error

if TYPE_CHECKING:
    from nats.aio.msg import Msg

    from .._rest import RestClient
    from .._telemetry import ConsumeRecord, Telemetry
    from ._nats import DurablePull, NatsLink

__all__ = ["Member", "Responses"]

logger = logging.getLogger("session_client.waits")

#: How long one fetch waits for an item: an idle member asks again this often, and a member
#: whose pull request was lost with a connection asks again at the latest after this.
FETCH_WAIT = 2.0
#: How often to ask again whether the group's consumer is the one joined, while JetStream
#: starts after a reconnect.
RESEND_RETRY = 0.2
#: The most items the group as a whole may hold unacknowledged (JetStream's max_ack_pending):
#: generous, since each member bounds its own share with ``max_in_flight``.
GROUP_MAX_ACK_PENDING = 10_000


class Member:
    """One process's membership of a group, for one ``responses()`` loop."""

    def __init__(
        self,
        link: NatsLink,
        rest: RestClient,
        telemetry: Telemetry,
        subject: str,
        group: str,
        *,
        ack_wait: float,
        max_in_flight: int,
    ) -> None:
        self._link = link
        self._rest = rest
        self._telemetry = telemetry
        self._subject = subject
        self._group = group
        self._ack_wait = ack_wait
        self._holding: Holding[Msg] = Holding(max_in_flight)
        #: The latest acknowledgements (when, and their subject) for :meth:`_reconnected`:
        #: what it held at most twice over (the acks of a batch, and of the one before, may be
        #: queued in the server when it stops).
        self._acked: deque[tuple[float, str]] = deque(maxlen=2 * max_in_flight)
        #: After a reconnect, until :meth:`_rejoin` knows the consumer: the check, when it
        #: gives up, what to acknowledge again, and the items held then (not to be finished).
        self._rejoining: asyncio.Task[None] | None = None
        self._rejoin_deadline = 0.0
        #: Whether there was a reconnect since the latest fetch; whether the latest check found
        #: the consumer joined (what a fetch brought from before a reconnect is kept only then).
        self._reconnected_since_fetch = False
        self._same = True
        self._replies: list[str] = []
        self._suspects: list[Msg] = []
        # The current item's span, and when its batch came (a batch is handed out before the
        # next fetch): one object per item less than a wrapper per message.
        self._record: ConsumeRecord | None = None
        self._fetched_at = 0.0
        self._pull: DurablePull | None = None
        #: The task awaiting a fetch, and whether :meth:`close` cancelled it to end the loop.
        self._fetcher: asyncio.Task[Any] | None = None
        self._interrupted = False
        self._loop = asyncio.get_running_loop()
        self.closed = False
        #: Called once closed (the client forgets the member).
        self.on_closed: Callable[[Member], None] = lambda _: None

    async def open(self) -> None:
        """Join the group's consumer (made if it does not exist yet)."""
        pull = await self._link.durable(
            self._subject,
            self._group,
            ack_wait=self._ack_wait,
            max_ack_pending=GROUP_MAX_ACK_PENDING,
        )
        if pull is None:
            raise NatsUnavailableError(
                f"no JetStream stream covers {self._subject}: consumer groups need the "
                "server's stream (asyncapi.yaml, SESSION_RESPONSES)"
            )
        if self.closed:
            await pull.close()
            return
        self._pull = pull
        self._link.reconnect_hooks.add(self._reconnected)

    async def next(self) -> ConsumedItem | None:
        """Acknowledge the current item, then the next one; None once closed."""
        await self._finish(ack=True)
        while not self.closed:
            msg = self._holding.hand_out()
            if msg is None:
                await self._fetch()
                continue
            parsed = parse_payload(msg.data, msg.headers, "consumer")
            item = (  # an answer, the common item, without a coroutine of its own
                Answered(cast(Any, parsed.payload), deliveries(msg))
                if isinstance(parsed, Answer)
                else await self._other_item(msg, parsed)
            )
            if item is not None:
                if self._telemetry.on() is not None:
                    self._record = self._telemetry.consumed(
                        self._subject,
                        self._group,
                        item.key,
                        item.deliveries,
                        time.time() - msg.metadata.timestamp.timestamp(),
                        msg.headers,
                    )
                return item
        return None

    async def _fetch(self) -> None:
        """Fetch the next batch, in the loop's own task (a task per batch would cost a loop
        turn, and a write of its own for the pull request: the acknowledgements before it
        went out apart); :meth:`close` cancels this await to end the loop."""
        pull = self._pull
        if pull is None:
            return
        task = self._fetcher = asyncio.current_task()
        assert task is not None
        cancels = task.cancelling()
        messages: list[Msg] = []
        failure: Exception | None = None
        try:
            messages = await pull.fetch(self._holding.batch(), FETCH_WAIT)
        except asyncio.CancelledError:
            if not self._interrupted or task.uncancel() > cancels:
                raise  # the caller's
            return  # closed: what the fetch took is redelivered after ack_wait
        except Exception as exc:
            failure = exc
        finally:
            self._fetcher = None
        if self._interrupted:
            task.uncancel()  # close()'s cancellation did not reach the fetch: undone
        if task.cancelling() > cancels:
            # The caller's did not either: nats-py can drop one (Python 3.11's wait_for
            # returns a message that came in the same loop turn). Raised as it would have been.
            await self._keep(messages)
            raise asyncio.CancelledError
        if failure is not None and not self.closed:
            raise failure
        await self._keep(messages)  # a fetch that failed with the close is moot

    async def _keep(self, messages: list[Msg]) -> None:
        """Hold fetched ``messages``; once closed, give them back. If there was a reconnect
        since the last fetch, some may have come before it (nats-py keeps what comes while a
        fetch waits, and what comes after one): they are suspects until the check, or let go
        of if it did not find the consumer joined (see :meth:`_reconnected`)."""
        if self._reconnected_since_fetch:
            self._reconnected_since_fetch = False
            if self._rejoining is not None and not self._rejoining.done():  # never once closed
                self._suspects += messages
            elif not self._same:  # close() makes an unfinished check count as not the same
                return
        if self.closed:
            for msg in messages:
                with contextlib.suppress(Exception):
                    await msg.nak()
            return
        self._holding.add(messages)
        self._fetched_at = time.monotonic()

    async def _other_item(self, msg: Msg, parsed: StatusEvent | None) -> SessionEnded | None:
        """The item of a ``msg`` that carries no answer; None (the item finished) if there is
        none to hand out."""
        if parsed is None:
            logger.debug("skipping a payload on %s that asyncapi.yaml does not allow", msg.subject)
            await self._finish(ack=True)
            return None
        try:
            error = await closed_session_error(self._rest, parsed.session_id)
        except Exception as exc:  # left unacknowledged: redelivered after ack_wait
            logger.warning("cannot confirm the end of session %r: %r", parsed.session_id, exc)
            await self._finish(ack=False)
            return None
        if error is None:
            logger.warning("ignoring a session.status event for %r: it is open", parsed.session_id)
            await self._finish(ack=True)
            return None
        return SessionEnded(
            parsed.session_id,
            "FAILED" if error is SessionRejectedError else "EXPIRED",
            deliveries(msg),
        )

    async def _finish(self, *, ack: bool) -> None:
        """Finish the current item: acknowledge it, or leave it to be redelivered."""
        current = self._holding.current
        # Held at a reconnect: which consumer it came from decides (see _reconnected); a later
        # reconnect may replace the check.
        while (rejoining := self._rejoining) is not None and not rejoining.done():
            if not any(suspect is current for suspect in self._suspects):
                break
            await asyncio.wait((rejoining,))
        msg = self._holding.finish()
        if msg is not None and ack:
            try:
                await msg.ack()
            except Exception as exc:  # redelivered after ack_wait: at least once
                logger.warning("acknowledging on %s failed: %r", self._subject, exc)
                ack = False
            else:
                self._acked.append((time.monotonic(), msg.reply))
        self._end_record(acked=ack and msg is not None)

    def _end_record(self, *, acked: bool) -> None:
        record, self._record = self._record, None
        if record is not None:
            record.end(acked=acked, held=time.monotonic() - self._fetched_at)

    def _reconnected(self) -> None:
        """After a reconnect, acknowledge the latest items again: a stopping nats-server shuts
        JetStream down before it closes the connections, dropping the acknowledgements that
        come in between, and one written as the connection died is lost too. The server
        ignores one it has; one it lost now spares a redelivery (a handled item handled
        again). Each is sent again once, within ``ack_wait`` (later, it is redelivered
        anyway). First, though, the member checks that the group's consumer is the one it
        joined (:meth:`_rejoin`); until then it finishes none of the items it holds now."""
        pull = self._pull
        if pull is None:
            return
        self._reconnected_since_fetch = True
        since = time.monotonic() - self._ack_wait
        self._replies += [reply for at, reply in self._acked if at > since]
        self._acked.clear()
        self._suspects = self._holding.held()
        if self._rejoining is not None and not self._rejoining.done():
            self._rejoining.cancel()  # one check for both reconnects, by the first's deadline
        else:
            self._rejoin_deadline = time.monotonic() + self._ack_wait
        self._rejoining = asyncio.ensure_future(self._rejoin(pull))

    async def _rejoin(self, pull: DurablePull) -> None:
        changed: bool | None = None
        try:
            while (changed := await pull.rejoined()) is None:
                if time.monotonic() >= self._rejoin_deadline:
                    break  # later, what it holds is redelivered anyway
                await asyncio.sleep(RESEND_RETRY)
        except Exception:
            logger.exception("checking the group's consumer on %s failed", self._subject)
        replies, self._replies = self._replies, []
        suspects, self._suspects = self._suspects, []
        self._same = changed is False
        if changed is not False:
            # Made again (a server that lost its store numbers other messages the same), or
            # unknown: finishing one could take another member's item. They are left to their
            # consumer's ack_wait instead.
            self._drop(suspects)
            why = "the group's consumer was made again" if changed else "JetStream did not answer"
            logger.warning("%s: letting go of the items held on %s", why, self._subject)
            return
        for reply in replies:
            with contextlib.suppress(Exception):  # lost again: redelivered, at least once
                await pull.acknowledge(reply)
        logger.debug("acknowledged %d items on %s again", len(replies), self._subject)

    def _drop(self, items: list[Msg]) -> None:
        """Let go of ``items`` if held, neither acknowledged nor given back."""
        current = self._holding.current
        self._holding.drop(items)
        if current is not None and self._holding.current is None:
            self._end_record(acked=False)

    async def close(self, *, ack_current: bool) -> None:
        """Leave the group: acknowledge the current item (or leave it, e.g. its handler
        raised), give back what was never handed out, end the subscription. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._link.reconnect_hooks.discard(self._reconnected)
        rejoining, self._rejoining = self._rejoining, None  # not waited for: closing now
        if rejoining is not None and not rejoining.done():
            rejoining.cancel()
            self._same = False  # from which consumer stays unknown: no ack, no nak
            self._drop(self._suspects)
        fetcher = self._fetcher
        if fetcher is not None and fetcher is not asyncio.current_task():
            self._interrupted = True
            fetcher.cancel()
        self.on_closed(self)
        await self._finish(ack=ack_current)
        for msg in self._holding.unstarted():
            with contextlib.suppress(Exception):
                await msg.nak()
        pull, self._pull = self._pull, None
        if pull is not None:
            await pull.close()

    def abandon(self) -> None:
        """Close soon, from any thread, leaving the current item unacknowledged: its loop was
        dropped without ending (a ``break`` outside ``async with``)."""
        if self.closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: so is the connection
            self._loop.call_soon_threadsafe(self._close_abandoned)

    def _close_abandoned(self) -> None:
        task = asyncio.ensure_future(self.close(ack_current=False))
        _ENDING.add(task)
        task.add_done_callback(_ENDING.discard)


#: Closes scheduled by :meth:`Member.abandon`, kept until done.
_ENDING: set[asyncio.Task[None]] = set()


class Responses:
    """The answers and session ends of a subject, for one member of a consumer group: an
    async iterator of :class:`~session_client.Answered` and :class:`~session_client.SessionEnded`
    (``AsyncSessionClient.responses`` makes it).

    Each item is acknowledged when the loop asks for the next one. Use it in ``async with``
    to have the last one acknowledged when the block ends normally (``break`` included) and
    left for redelivery when it ends with an exception; a loop ended without either leaves it
    for redelivery after ``ack_wait``. The loop ends when the client closes or :meth:`aclose`
    is called.
    """

    def __init__(self, join: Callable[[], Awaitable[Member]]) -> None:
        self._join = join
        self._member: Member | None = None

    def __aiter__(self) -> Responses:
        return self

    async def __anext__(self) -> ConsumedItem:
        member = self._member
        if member is None:
            member = self._member = await self._join()
            weakref.finalize(self, member.abandon)
        item = await member.next()
        if item is None:
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """End the loop; the item being handled is acknowledged."""
        await self._end(ack_current=True)

    async def _end(self, *, ack_current: bool) -> None:
        if self._member is not None:
            await self._member.close(ack_current=ack_current)

    async def __aenter__(self) -> Responses:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._end(ack_current=exc_type is None)
