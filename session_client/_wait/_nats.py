"""The one seam to nats-py: the connection, response subscriptions and stream replay.

Everything here that goes beyond nats-py's public API does so for a measured reason, and is
checked at connect (:func:`_check_nats_py`), so an upgrade that changes it fails loudly, naming
the nats-py version, instead of silently losing answers:

- **Inline delivery** (``subscribe(future=...)`` with a stand-in future): nats-py then hands
  every message to us straight from its read loop. A subscription with a callback gets an
  ``asyncio.Queue`` and a task of its own instead: about 1 KiB more per subject, a task switch
  per message, and a buffer that drops messages (slow consumer) when it fills.
- **PING after the SUBs, in one write** (``_pending``, ``_pending_data_size``, ``_pongs``,
  ``_transport``, ``_flush_queue``): nats-py's ``flush()`` writes its PING straight to the socket
  while SUBs wait in its pending buffer for its flusher task, so the PONG can come back before
  the server saw the SUB and an instant answer is lost (nats.py #440; ``make bench`` lost about
  one in 200). Waiting for the flusher task instead costs two more loop turns per wait.
- **Cancellation that nats-py swallows**: its ``_flush_pending`` (behind ``subscribe`` and
  ``unsubscribe``) catches ``CancelledError``; a caller's timeout would then be lost.
- **The subscriptions a connection holds** (``_subs``, :func:`open_subscriptions`): nats-py has
  no public list of them, and a leak check must count what nats-py itself keeps.

Stream replay and the durable consumers (:class:`DurablePull`) use only the public JetStream
API.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..config import redact_url
from ..errors import (
    ClientClosedError,
    NatsAuthenticationError,
    NatsUnavailableError,
    SessionClientError,
)

if TYPE_CHECKING:  # nats (~30 ms to import) is imported on the first connect
    from nats.aio.client import Client as NATS
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

__all__ = [
    "DurablePull",
    "FirstConnect",
    "GroupMismatchError",
    "NatsLink",
    "OnMessage",
    "deliveries",
    "open_subscriptions",
    "where",
]

T = TypeVar("T")

logger = logging.getLogger("session_client.nats")

#: Called with a message's subject, payload and headers, from nats-py's read loop: must not
#: raise.
OnMessage = Callable[[str, bytes, dict[str, str] | None], None]

# How long a subscription may take to be confirmed (nats-py's own flush timeout).
_CONFIRM_TIMEOUT = 10.0
_PING = b"PING\r\n"
# Tokens of a JetStream ACK subject, without and with a domain and account (see deliveries()).
_ACK_V1_TOKENS, _ACK_V2_TOKENS = 9, 11
# A replay fetches at most this many messages per request, and gives a request this long.
_REPLAY_BATCH = 256
_REPLAY_TIMEOUT = 5.0
# How long a member pauses before fetching again after JetStream answered with an error status.
_FETCH_RETRY = 0.5
# How many failed attempts per server the first connect makes before it gives up, each bounded by
# nats-py's connect_timeout: a server too busy to greet at once gets two more tries (issue 17),
# one that accepts but never greets fails after about 3 * connect_timeout (7 s with the client's
# defaults), not at the caller's deadline (issue 26). Counting attempts, not seconds, stretches
# the bound on a machine slow enough to stretch each attempt.
FIRST_CONNECT_ATTEMPTS = 3
# What nats-server's -ERR says when it refuses a client's credentials (nats-py 2.9 to 2.16 raise
# them as a plain nats.errors.Error during the connect).
_CREDENTIALS_REFUSED = (
    "authorization violation",
    "authentication expired",
    "authentication revoked",
)
# The private client attributes this module uses (see the module docstring).
_CLIENT_INTERNALS = (
    "_pending",
    "_pending_data_size",
    "_pongs",
    "_transport",
    "_flush_queue",
    "_subs",
)


def _nats_py_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nats-py")
    except PackageNotFoundError:  # pragma: no cover - vendored copies
        return "unknown"


def _check_nats_py(nc: NATS) -> None:
    """Fail at connect, clearly, if this nats-py lacks what the module relies on."""
    from nats.aio.subscription import Subscription

    missing = [name for name in _CLIENT_INTERNALS if not hasattr(nc, name)]
    if "future" not in inspect.signature(Subscription.__init__).parameters:
        missing.append("Subscription(future=...)")
    if missing:
        raise NatsUnavailableError(
            f"nats-py {_nats_py_version()} is not supported by session_client (it lacks "
            f"{', '.join(missing)}): install a version that pyproject.toml allows"
        )


def where(servers: list[str]) -> str:
    """``NATS at url, url``, without credentials: what an error names."""
    return f"NATS at {', '.join(map(redact_url, servers))}"


def _refuses_credentials(error: Exception) -> bool:
    from nats.errors import AuthorizationError

    text = str(error).lower()
    return isinstance(error, AuthorizationError) or any(
        refusal in text for refusal in _CREDENTIALS_REFUSED
    )


def _has_no_address(error: Exception) -> bool:
    """A server name that does not resolve; a temporary DNS failure may still pass."""
    return isinstance(error, socket.gaierror) and error.errno != socket.EAI_AGAIN


class FirstConnect:
    """Decides, from the failed attempts nats-py reports, when a first connect cannot succeed
    (nats-py itself retries it for ever): pure bookkeeping, no I/O."""

    __slots__ = ("_attempts", "_servers", "_unreachable")

    def __init__(self, servers: list[str]) -> None:
        self._servers = servers
        self._attempts = 0
        self._unreachable = 0

    def failed(self, error: Exception) -> NatsUnavailableError | None:
        """The error to give up with after this failed attempt, or None to let nats-py retry.

        At once where retrying cannot help - a server refused this client (credentials, TLS),
        or every server refused the connection or has no address; else after
        :data:`FIRST_CONNECT_ATTEMPTS` attempts per server."""
        servers = where(self._servers)
        if _refuses_credentials(error):
            return NatsAuthenticationError(
                f"{servers} refused this client's credentials: {error!r}"
            )
        if isinstance(error, ssl.SSLError):
            return NatsUnavailableError(f"cannot connect to {servers}: {error!r}")
        self._attempts += 1
        if _has_no_address(error) or isinstance(error, ConnectionRefusedError):
            self._unreachable += 1
            if self._unreachable >= len(self._servers):
                return NatsUnavailableError(
                    f"cannot connect to {servers}: every server refused the connection or has "
                    f"no address ({error!r})"
                )
        if self._attempts >= FIRST_CONNECT_ATTEMPTS * len(self._servers):
            return NatsUnavailableError(
                f"cannot connect to {servers}: no server let this client in after "
                f"{FIRST_CONNECT_ATTEMPTS} attempts each (the last: {error!r})"
            )
        return None


def open_subscriptions(nc: NATS) -> dict[int, Subscription]:
    """Every subscription nats-py holds on ``nc``, by its sid (nats-py's own reply inbox for
    JetStream requests among them): what a check for leaked subscriptions counts."""
    return dict(nc._subs)


def deliveries(msg: Msg) -> int:
    """How many times JetStream has delivered ``msg``, read from its ACK subject as the
    JetStream protocol lays it out (ADR-15: ``$JS.ACK.<stream>.<consumer>.<delivered>...``, or
    ``$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>...``): what
    ``msg.metadata.num_delivered`` says, without the rest of the metadata (a dataclass and a
    datetime per item, a tenth of the consumer floor's CPU per answer). Any other subject:
    nats-py's answer (or its error)."""
    tokens = (msg.reply or "").split(".")
    if tokens[0] == "$JS" and tokens[1:2] == ["ACK"]:
        if len(tokens) == _ACK_V1_TOKENS:
            return int(tokens[4])
        if len(tokens) >= _ACK_V2_TOKENS:
            return int(tokens[6])
    return msg.metadata.num_delivered


def _write_ping(nc: NATS, pong: asyncio.Future[bool]) -> None:
    """Write nats-py's buffered commands (new SUBs among them), then a PING whose PONG settles
    ``pong``: in that order, in one go. ``pong`` must never be cancelled: nats-py's read loop
    dies when a cancelled PONG future's PONG arrives (InvalidStateError, nats-io/nats.py#914).
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
    its PONG, or fails at the deadline or when the client closes. Driven by callbacks, not a
    task: no extra loop turns on the way of every wait."""

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

    def fail(self, error: SessionClientError) -> None:
        """End the confirmation with ``error`` unless the PONG came first."""
        if not self.done.done():
            self._deadline.cancel()
            self.done.set_exception(error)
            self.done.exception()  # retrieved: every caller may have been cancelled


class _InlineDelivery:
    """Stands in for the future of ``subscribe(future=...)``: nats-py calls ``set_result(msg)``
    for every message, straight from its read loop, after checking ``cancelled()``. Nothing
    queues, so nothing is dropped: a flood only slows the reading of the socket."""

    __slots__ = ("_on_message",)

    def __init__(self, on_message: OnMessage) -> None:
        self._on_message = on_message

    def cancelled(self) -> bool:
        """Never: the subscription lives until it is unsubscribed."""
        return False

    def set_result(self, msg: Msg) -> None:
        """Hand ``msg`` on. Never raises: an exception would stop nats-py's read loop for good
        (nats-io/nats.py#914)."""
        try:
            self._on_message(msg.subject, msg.data, msg.headers)
        except Exception:
            logger.exception("routing a message on %s failed", msg.subject)


def _start_time(since: float) -> Any:
    """``ConsumerConfig.opt_start_time`` for wall-clock time ``since``: a ``datetime`` where
    nats-py declares one (newer versions convert it), else the RFC 3339 string the server
    takes (nats-py 2.9 passes the field through as it is)."""
    from nats.js.api import ConsumerConfig

    start = datetime.fromtimestamp(since, UTC)
    if "datetime" in str(ConsumerConfig.__annotations__.get("opt_start_time", "")):
        return start
    return start.isoformat().replace("+00:00", "Z")


def _cancel_requests() -> int:
    """How many cancellations of the current task are pending (see :func:`_keeping_cancels`)."""
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


async def _keeping_cancels(call: Awaitable[T], keep: Callable[[T], None]) -> T:
    """Await a nats-py call that may swallow a cancellation of this task; hand its result to
    ``keep`` first (a subscription to undo), then re-raise a swallowed cancellation."""
    requested = _cancel_requests()
    result = await call
    keep(result)
    if _cancel_requests() > requested:
        raise asyncio.CancelledError
    return result


async def _consumer_created(nc: NATS, stream: str, info: Any) -> float | None:
    """When the server created the consumer, by its clock. Older nats-py versions drop the
    field from ``ConsumerInfo``: then it is read from the JetStream API's own answer."""
    created = getattr(info, "created", None)
    if created is None:
        with contextlib.suppress(Exception):
            reply = await nc.request(f"$JS.API.CONSUMER.INFO.{stream}.{info.name}", b"")
            created = json.loads(reply.data).get("created")
    if isinstance(created, str):
        with contextlib.suppress(ValueError):
            created = datetime.fromisoformat(created.replace("Z", "+00:00"))
    return created.timestamp() if isinstance(created, datetime) else None


class GroupMismatchError(ValueError):
    """A durable consumer of that name exists, for other subjects."""


class DurablePull:
    """One member's pull subscription to a JetStream durable consumer: what it fetches is
    its own until acknowledged (``msg.ack()``) or redelivered after the consumer's
    ``ack_wait``. The consumer itself outlives the subscription: it is the group's."""

    __slots__ = ("_created", "_nc", "_stream", "_subscription")

    def __init__(self, subscription: Any, nc: NATS, stream: str, created: float | None) -> None:
        self._subscription, self._nc, self._stream = subscription, nc, stream
        #: When the server made the consumer: tells it from one made again under its name.
        self._created = created

    async def rejoined(self) -> bool | None:
        """After a reconnect: whether the group's consumer was made again since this member
        joined it, or is gone (the server lost its store, say: its stream sequences then name
        other messages); from then on the member belongs to the new one. None if the server
        cannot tell now (JetStream still starting)."""
        from nats.js.errors import NotFoundError

        try:
            info = await self._subscription.consumer_info()
        except NotFoundError:
            self._created = None
            return True
        except Exception:
            return None
        created = await _consumer_created(self._nc, self._stream, info)
        changed = created is None or created != self._created  # unknown: cannot be the same
        self._created = created
        return changed

    async def acknowledge(self, reply: str) -> None:
        """Acknowledge once more the message whose acknowledgement subject is ``reply``."""
        await self._nc.publish(reply)

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to ``batch`` messages, as soon as there is one; [] if none came within
        ``timeout`` (also while the connection is down: nats-py reconnects meanwhile).
        Raises :class:`NatsUnavailableError` if the connection is closed for good."""
        from nats.errors import ConnectionClosedError
        from nats.errors import Error as NatsError
        from nats.errors import TimeoutError as NatsTimeoutError

        try:
            messages: list[Msg] = await self._subscription.fetch(batch, timeout=timeout)
        except (NatsTimeoutError, TimeoutError):
            return []
        except ConnectionClosedError as exc:
            raise NatsUnavailableError("the NATS connection was closed") from exc
        except NatsError as exc:
            # A status instead of messages: a restarting server ("Server Shutdown", no
            # responders while JetStream starts). Ask again shortly.
            logger.info("fetching from %s failed: %r; asking again", self._subscription, exc)
            await asyncio.sleep(_FETCH_RETRY)
            return []
        return messages

    async def close(self) -> None:
        """End this member's subscription; the consumer stays for the group."""
        with contextlib.suppress(Exception):
            await _keeping_cancels(self._subscription.unsubscribe(), lambda _: None)


class NatsLink:
    """The client's one NATS connection, made on first use and kept until :meth:`close`.

    ``on_disconnected`` / ``on_reconnected`` are called as nats-py reports them; a reconnect
    re-sends every subscription before ``on_reconnected`` runs. ``on_closed``: nats-py gave up
    on the connection (``max_reconnect_attempts``), and with it every subscription.
    """

    def __init__(
        self,
        servers: list[str],
        connect_options: dict[str, Any],
        *,
        on_disconnected: Callable[[], None],
        on_reconnected: Callable[[], None],
        on_closed: Callable[[], None],
    ) -> None:
        self._servers = servers
        self._connect_options = connect_options
        self._on_disconnected = on_disconnected
        self._on_reconnected = on_reconnected
        self._on_closed = on_closed
        self._nc: NATS | None = None
        self._closed = False
        #: The NATS server's clock minus this host's, once a replay measured it.
        self._clock_offset: float | None = None
        #: While the first connect runs: settled with the error that ends it at once.
        self._hopeless: asyncio.Future[NatsUnavailableError] | None = None
        self._first = FirstConnect(servers)
        #: How many first connects failed, and the last one's error.
        self._failures = 0
        self._failure: NatsUnavailableError | None = None
        self._connect_lock = asyncio.Lock()
        #: Confirmations sent and not yet settled: a reconnect pings them again, close fails them.
        self._confirmations: set[_Confirmation] = set()
        self._next_confirmation: _Confirmation | None = None
        self._streams: dict[str, str | None] = {}
        #: True while the connection is down and nats-py is reconnecting.
        self.disconnected = False
        #: Called on each reconnect, once the subscriptions are re-sent (consumer members).
        self.reconnect_hooks: set[Callable[[], None]] = set()

    @property
    def connection(self) -> NATS | None:
        """The nats-py client, once connected."""
        return self._nc

    @property
    def detection_allowance(self) -> float:
        """How long a silently dead connection may go unnoticed (nats-py's ping interval times
        its allowed outstanding pings, plus one): what a replay must reach back over."""
        options = self._connect_options
        return float(options.get("ping_interval", 120)) * (
            int(options.get("max_outstanding_pings", 2)) + 1
        )

    async def connect(self) -> NATS:
        """The connection, made now if there is none yet. Callers that waited for a first
        connect that failed fail with it, rather than each trying again in turn (20 waits
        at once on a silent port would take 20 times as long)."""
        if self._nc is not None and not self._nc.is_closed:
            return self._nc
        failures = self._failures
        async with self._connect_lock:
            if self._closed:  # never again after close(): nothing would close it
                raise ClientClosedError()
            if self._failures > failures and self._failure is not None:
                raise type(self._failure)(*self._failure.args)  # a copy: a traceback of its own
            if self._nc is None or self._nc.is_closed:
                try:
                    nc = await self._first_connect()
                except NatsUnavailableError as exc:
                    # A copy without the traceback, which would keep the failed client alive.
                    self._failures, self._failure = self._failures + 1, type(exc)(*exc.args)
                    raise
                if self._closed:  # while connecting
                    with contextlib.suppress(Exception):
                        await nc.close()
                    raise ClientClosedError()
                self._nc = nc
            return self._nc

    async def _first_connect(self) -> NATS:
        options: dict[str, Any] = {
            "name": "session_client",
            # Once connected, never give up: waits survive server restarts.
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": 0.5,
            "connect_timeout": 2,
            **self._connect_options,
            "error_cb": self._error,
            "disconnected_cb": self._disconnected,
            "reconnected_cb": self._reconnected,
            "closed_cb": self._connection_closed,
        }
        from nats.aio.client import Client as NATS

        # nats-py retries the first connect for ever too: FirstConnect says when to give up
        # (see _error), before anything is sent that the caller would then wait for in vain.
        hopeless = self._hopeless = asyncio.get_running_loop().create_future()
        self._first = FirstConnect(self._servers)
        nc = NATS()
        connecting = asyncio.ensure_future(nc.connect(self._servers, **options))
        try:
            first: list[asyncio.Future[Any]] = [connecting, hopeless]
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            if not connecting.done():
                raise hopeless.result()
            connecting.result()
            _check_nats_py(nc)
        except BaseException as exc:
            connecting.cancel()
            with contextlib.suppress(BaseException):
                await connecting
            with contextlib.suppress(Exception):
                await nc.close()
            # nats-py reported the failed attempt as a disconnect: no reconnect will undo it.
            self.disconnected = False
            if isinstance(exc, asyncio.CancelledError | NatsUnavailableError):
                raise
            raise NatsUnavailableError(
                f"cannot connect to {where(self._servers)}: {exc!r}"
            ) from exc
        finally:
            self._hopeless = None
        return nc

    async def _error(self, error: Exception) -> None:
        # Protocol errors and disconnects are logged; reconnects recover.
        logger.warning("NATS error: %r", error)
        hopeless = self._hopeless
        if hopeless is None or hopeless.done():
            return
        verdict = self._first.failed(error)  # during the first connect: give up yet?
        if verdict is not None:
            hopeless.set_result(verdict)

    async def _connection_closed(self) -> None:
        if not self._closed and self._nc is not None and self._nc.is_closed:
            logger.warning("NATS connection closed for good; pending waits fail")
            self.disconnected = False
            self._on_closed()

    async def _disconnected(self) -> None:
        logger.info("NATS disconnected; waits poll the REST API until it is back")
        self.disconnected = True
        self._on_disconnected()

    async def _reconnected(self) -> None:
        logger.info("NATS reconnected; waits recover what they may have missed")
        self.disconnected = False
        # Streams may have changed while the connection was down, and another server's clock
        # may differ.
        self._streams.clear()
        self._clock_offset = None
        for confirmation in list(self._confirmations):
            # nats-py dropped the PONG futures of the old connection. The next confirmation
            # is not sent yet: a PING now could come before SUBs it must cover.
            if confirmation is not self._next_confirmation:
                confirmation.ping()
        self._on_reconnected()
        for hook in list(self.reconnect_hooks):
            try:
                hook()
            except Exception:  # into nats-py's reconnect, it would start another one
                logger.exception("a reconnect hook failed")

    async def subscribe(self, subject: str, on_message: OnMessage) -> Subscription:
        """Subscribe to ``subject``; returns once the server has the subscription. On failure
        or cancellation nothing is left subscribed."""
        nc = await self.connect()
        made: list[Subscription] = []
        try:
            subscription = await _keeping_cancels(
                nc.subscribe(
                    subject, future=cast("asyncio.Future[Msg]", _InlineDelivery(on_message))
                ),
                made.append,
            )
            await asyncio.shield(self._confirmation(nc))
        except BaseException:
            for undone in made:
                await self.unsubscribe(undone)
            raise
        return subscription

    def _confirmation(self, nc: NATS) -> asyncio.Future[None]:
        """A confirmation covering every subscription made so far, shared by every caller that
        subscribed before its PING went out: one PING for a burst of subscriptions. Callers
        await it shielded, so that one caller's cancellation is not everyone's."""
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

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Undo a subscription; a connection that is closing drops it anyway."""
        if self._nc is None or self._nc.is_closed:
            return
        try:
            await _keeping_cancels(subscription.unsubscribe(), lambda _: None)
        except Exception as exc:
            logger.debug("unsubscribe from %s failed: %r", subscription.subject, exc)

    async def replay(self, subject: str, since: float, on_message: OnMessage) -> bool:
        """Hand every message ``subject``'s JetStream stream holds from this host's wall-clock
        time ``since`` on to ``on_message``. False if no stream covers the subject (ask the REST
        API instead); JetStream errors are raised.

        The stream keeps the NATS server's time, which may run behind this host's: the first
        replay of a connection measures the difference (its consumer's creation time) and,
        where starting by this host's clock would have skipped messages, starts again."""
        nc = await self.connect()
        stream = await self._stream_of(nc, subject)
        if stream is None:
            return False
        measured = self._clock_offset is not None
        start = since + (self._clock_offset or 0.0)
        pull, consumer, pending = await self._replay_consumer(nc, stream, subject, start)
        try:
            if not measured and start > since + (self._clock_offset or 0.0) + 1.0:
                await self._drop_consumer(nc, stream, pull, consumer)
                start = since + (self._clock_offset or 0.0)
                pull, consumer, pending = await self._replay_consumer(nc, stream, subject, start)
            while pending > 0:
                messages = await pull.fetch(min(pending, _REPLAY_BATCH), timeout=_REPLAY_TIMEOUT)
                for msg in messages:
                    on_message(msg.subject, msg.data, msg.headers)
                pending = messages[-1].metadata.num_pending if messages else 0
        finally:
            await self._drop_consumer(nc, stream, pull, consumer)
        return True

    async def durable(
        self, subject: str, group: str, *, ack_wait: float, max_ack_pending: int
    ) -> DurablePull | None:
        """Join the JetStream durable pull consumer ``group`` of the stream covering
        ``subject`` (every message on it, oldest first, each acknowledged explicitly), made
        now if it does not exist; None if no stream covers ``subject``. Raises
        :class:`GroupMismatchError` if ``group`` consumes another subject."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        nc = await self.connect()
        try:
            stream = await self._stream_of(nc, subject)
        except Exception as exc:
            raise NatsUnavailableError(f"cannot look up the stream of {subject}: {exc!r}") from exc
        if stream is None:
            return None
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_ack_pending=max_ack_pending,
            max_deliver=-1,
        )
        try:
            pull = await nc.jetstream().pull_subscribe(
                subject, durable=group, stream=stream, config=config
            )
        except Exception as exc:
            raise NatsUnavailableError(
                f"cannot join the consumer group {group!r}: {exc!r}"
            ) from exc
        try:
            info = await pull.consumer_info()
            consumed = info.config.filter_subject
            if consumed != subject:
                raise GroupMismatchError(
                    f"the group {group!r} already consumes {consumed!r} (stream {stream}), not "
                    f"{subject!r}: a group consumes one subject; choose another group name"
                )
            created = await _consumer_created(nc, stream, info)
        except BaseException:
            with contextlib.suppress(Exception):
                await pull.unsubscribe()
            raise
        return DurablePull(pull, nc, stream, created)

    async def _replay_consumer(
        self, nc: NATS, stream: str, subject: str, start: float
    ) -> tuple[Any, str, int]:
        """An ephemeral pull consumer of ``subject`` from NATS-server time ``start``: the
        subscription, the consumer's name and how many messages it has; measures the clock
        offset on the way if it is not known yet."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=_start_time(start),
            ack_policy=AckPolicy.NONE,
            mem_storage=True,
            inactive_threshold=30.0,  # the server removes it if this process dies meanwhile
        )
        asked = time.time()
        pull = await nc.jetstream().pull_subscribe(subject, stream=stream, config=config)
        info = await pull.consumer_info()
        if self._clock_offset is None:
            created = await _consumer_created(nc, stream, info)
            if created is not None:
                self._clock_offset = created - (asked + time.time()) / 2
        return pull, info.name, info.num_pending or 0

    @staticmethod
    async def _drop_consumer(nc: NATS, stream: str, pull: Any, consumer: str) -> None:
        with contextlib.suppress(Exception):
            await pull.unsubscribe()
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_consumer(stream, consumer)

    async def _stream_of(self, nc: NATS, subject: str) -> str | None:
        """The stream covering ``subject``, or None; looked up once per subject."""
        if subject not in self._streams:
            from nats.js.errors import NotFoundError

            try:
                self._streams[subject] = await nc.jetstream().find_stream_name_by_subject(subject)
            except NotFoundError:
                self._streams[subject] = None
        return self._streams[subject]

    async def close(self) -> None:
        """Close the connection for good; confirmations still pending fail."""
        self._closed = True
        for confirmation in list(self._confirmations):  # now, not at their deadline
            confirmation.fail(ClientClosedError())
        nc, self._nc = self._nc, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except Exception as exc:
                logger.debug("closing NATS failed: %r", exc)
