"""``SessionClient``: the blocking client, running the async client on a private loop thread."""

from __future__ import annotations

import asyncio
import contextlib
import copy as _copy
import logging
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, cast, overload

from . import _fork
from ._paging import every_item_sync, options_of
from ._policies.tally import Accept
from ._rest import MAX_RESPONSE_BYTES
from ._telemetry import carry_context, context_for_task
from ._wait._consumer import Responses
from .answer_schemas import ModelClass
from .async_client import AsyncSessionClient
from .config import warn_timeout_renamed
from .consumed import ConsumedItem
from .errors import ClientClosedError
from .subjects import DEFAULT_SUBJECT_TEMPLATE
from .types import (
    ExpireResult,
    Message,
    MessagePage,
    ModelResponsePayload,
    QuorumResult,
    ResponsePayload,
    Session,
    SessionPage,
)

__all__ = ["SessionClient"]

T = TypeVar("T")
M = TypeVar("M", bound=ModelClass)

logger = logging.getLogger("session_client")


class _Call:
    """One blocking call: its coroutine runs as a task on the loop thread, and the caller waits
    on a plain lock that the task's done callback releases - lighter than
    ``asyncio.run_coroutine_threadsafe``'s concurrent Future and Condition (~15 us less CPU a
    call, measured), which the sync client pays on every method."""

    __slots__ = ("cancelled", "coroutine", "done", "task", "trace_context")

    def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        self.coroutine = coroutine
        # The caller's span is the parent of the call's, although the call runs on the loop.
        self.trace_context = carry_context()
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False
        self.done = threading.Lock()
        self.done.acquire()

    def start(self) -> None:
        """On the loop thread: run the coroutine (unless cancelled before it started)."""
        if self.cancelled:
            self.coroutine.close()
            self.done.release()
            return
        if self.trace_context is None:
            self.task = asyncio.ensure_future(self.coroutine)
        else:
            self.task = asyncio.get_running_loop().create_task(
                self.coroutine, context=context_for_task(self.trace_context)
            )
        self.task.add_done_callback(lambda _: self.done.release())

    def cancel(self) -> None:
        """On the loop thread: cancel the coroutine, started or not."""
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()


#: How long ``close()`` lets the connections close and the calls end before it stops the loop
#: anyway: it must never hang, even on a NATS server that stopped answering.
_CLOSE_WITHIN = 10.0
#: How long a fork waits for the loop thread to finish its current step (see before_fork).
_FORK_PAUSE_WITHIN = 2.0


class _LoopThread:
    """One event loop on one daemon thread, started on first use and stopped by :meth:`close`.

    A call made after ``close()`` began raises :class:`ClientClosedError`; calls in flight end
    with it (the async client cancels them). After a fork, the child starts a loop thread of
    its own on its next call (see ``_fork``).
    """

    def __init__(self) -> None:
        self._closed = False
        self._reset()
        _fork.register(self)

    def _reset(self) -> None:
        # New locks too: in a forked child, one held by another thread at the fork stays held.
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Calls submitted by caller threads, started in batches by the loop thread: one
        # loop wake-up (a self-pipe write, and a GIL hand-off) serves every call submitted
        # while it was pending, instead of one each.
        self._submitted: deque[_Call] = deque()
        self._wake_pending = False
        self._fork_pause: tuple[threading.Event, threading.Event] | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop thread; block until it ends; return its result."""
        call = _Call(coroutine)
        with self._lock:  # so close() sees every call submitted before it, woken up
            if self._closed:
                coroutine.close()
                raise ClientClosedError()
            loop = self._loop or self._start_loop()
            self._submitted.append(call)
            if not self._wake_pending:
                self._wake_pending = True
                loop.call_soon_threadsafe(self._start_submitted)
        try:
            call.done.acquire()
        except BaseException:
            # Ctrl-C: stop the work, or keep it from starting; and drain anyway, in case the
            # interrupt came between setting _wake_pending and scheduling the drain (every
            # later call would wait for ever).
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(call.cancel)
                loop.call_soon_threadsafe(self._start_submitted)
            raise
        if call.task is None:  # never started: close() ended it
            raise ClientClosedError()
        result: T = call.task.result()
        return result

    def _start_submitted(self) -> None:
        # Cleared before draining: a call appended after this line finds it False and wakes
        # the loop again; one appended before it is drained here.
        self._wake_pending = False
        submitted = self._submitted
        while submitted:
            submitted.popleft().start()

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="session-client-loop", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        return loop

    def close(self, closing: Coroutine[Any, Any, None]) -> None:
        """Refuse new calls, run ``closing`` (which ends the calls in flight) on the loop,
        let every task finish, and stop the loop thread. Bounded; never raises."""
        with self._lock:
            already, self._closed = self._closed, True
            loop, thread = self._loop, self._thread
        if already or loop is None or thread is None:
            closing.close()  # closed before, or never started: nothing is open
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shut_down(closing), loop).result(
                _CLOSE_WITHIN + 1
            )
        except BaseException as exc:  # a bound ran out, or Ctrl-C: stop the loop anyway
            logger.warning("closing the client did not finish cleanly: %r", exc)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_CLOSE_WITHIN)
        # Any call the loop never started (possible only if a bound ran out) is ended here.
        for call in self._submitted:
            call.coroutine.close()
            call.done.release()
        self._submitted.clear()
        if not thread.is_alive():
            loop.close()

    async def _shut_down(self, closing: Coroutine[Any, Any, None]) -> None:
        self._start_submitted()  # submitted before close(): they start and end at once
        try:
            async with asyncio.timeout(_CLOSE_WITHIN):
                await closing
        finally:
            # What is left ends now, so the loop stops with nothing pending: the calls' last
            # steps, nats-py's reader and ping tasks, recovery rounds.
            pending = asyncio.all_tasks() - {asyncio.current_task()}
            if pending:
                _, pending = await asyncio.wait(pending, timeout=1.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    # -- fork (see _fork) -------------------------------------------------------------------

    def before_fork(self) -> None:
        """Hold the loop thread between two steps, so the child copies no half-done one (an
        import, a connection's buffers)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or thread is threading.current_thread():
            return
        paused, resume = threading.Event(), threading.Event()

        def hold() -> None:
            paused.set()
            resume.wait(_FORK_PAUSE_WITHIN * 2)

        try:
            loop.call_soon_threadsafe(hold)
        except RuntimeError:  # closed meanwhile
            return
        self._fork_pause = (paused, resume)
        paused.wait(_FORK_PAUSE_WITHIN)

    def after_fork_in_parent(self) -> None:
        if self._fork_pause is not None:
            self._fork_pause[1].set()
            self._fork_pause = None

    def after_fork_in_child(self) -> None:
        # The loop thread does not exist here, and its loop and self-pipe are the parent's.
        _fork.keep_inherited(self._loop, self._thread, self._submitted)
        self._reset()


async def _next_or_none(responses: Responses) -> ConsumedItem | None:
    """The next item, or None once the loop ended (a coroutine may not raise Stop*Iteration
    into a task's result)."""
    try:
        return await responses.__anext__()
    except StopAsyncIteration:
        return None


class SyncResponses:
    """:class:`~session_client._wait._consumer.Responses` for the blocking client: a plain
    iterator of :class:`~session_client.Answered` and :class:`~session_client.SessionEnded`
    (``SessionClient.responses`` makes it). Each item is acknowledged when the loop asks for
    the next one; in a ``with`` block, the last one when the block ends normally."""

    def __init__(self, run: Callable[[Coroutine[Any, Any, Any]], Any], responses: Responses):
        self._run = run
        self._responses = responses

    def __iter__(self) -> SyncResponses:
        return self

    def __next__(self) -> ConsumedItem:
        item: ConsumedItem | None = self._run(_next_or_none(self._responses))
        if item is None:
            raise StopIteration
        return item

    def close(self) -> None:
        """End the loop; the item being handled is acknowledged."""
        self._end(ack_current=True)

    def _end(self, *, ack_current: bool) -> None:
        with contextlib.suppress(ClientClosedError):  # the client's close ended it already
            self._run(self._responses._end(ack_current=ack_current))

    def __enter__(self) -> SyncResponses:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end(ack_current=exc_type is None)


class SessionClient:
    """The blocking client of the session management system.

    Same arguments and methods as :class:`AsyncSessionClient`, as ordinary functions. Its async
    work runs on one private event-loop thread, so it is safe to call from many threads at once
    and from inside a running event loop (e.g. Jupyter). Use ``with`` or call :meth:`close`.
    """

    def __init__(
        self,
        api_base_url: str | None = None,
        nats_servers: list[str] | None = None,
        *,
        api_key: str | None = None,
        http_timeout: Any = 30.0,
        max_retries: int = 2,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        subject_template: str = DEFAULT_SUBJECT_TEMPLATE,
        nats_options: dict[str, Any] | None = None,
        verify: Any = True,
        http_backend: str | None = None,
        http_transport: Any = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        timeout: Any = None,
    ) -> None:
        if timeout is not None:  # warned here, where the caller is
            warn_timeout_renamed(stacklevel=3)
            http_timeout = timeout
        self._async = AsyncSessionClient(
            api_base_url,
            nats_servers,
            api_key=api_key,
            http_timeout=http_timeout,
            max_retries=max_retries,
            max_response_bytes=max_response_bytes,
            subject_template=subject_template,
            nats_options=nats_options,
            verify=verify,
            http_backend=http_backend,
            http_transport=http_transport,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        self._loop = _LoopThread()

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncSessionClient", "SessionClient", 1)

    @property
    def api_base_url(self) -> str:
        """The REST API base URL."""
        return self._async.api_base_url

    @property
    def http_backend(self) -> str:
        """The HTTP library in use: ``"httpx"``, ``"aiohttp"`` or ``"httpx2"``."""
        return self._async.http_backend

    @property
    def nats_servers(self) -> list[str]:
        """The NATS server URLs."""
        return self._async.nats_servers

    @property
    def async_client(self) -> AsyncSessionClient:
        """The :class:`AsyncSessionClient` doing the work (use it only via this client)."""
        return self._async

    @property
    def subscription_count(self) -> int:
        """Open response subscriptions (0 about a second after the last wait)."""
        return self._async.subscription_count

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._loop.run(coroutine)

    def with_options(
        self,
        *,
        http_timeout: Any = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> SessionClient:
        """This client with other HTTP options; see :meth:`AsyncSessionClient.with_options`."""
        copy = _copy.copy(self)
        copy._async = self._async.with_options(
            http_timeout=http_timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return copy

    def create_session(
        self,
        session_id: str,
        message_data: dict[str, Any] | None = None,
        message_data_template: dict[str, Any] | None = None,
        expiry_date: int | None = None,
        subject_id: str | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Session:
        """Create a session; see :meth:`AsyncSessionClient.create_session`."""
        return self._run(
            self._async.create_session(
                session_id,
                message_data,
                message_data_template,
                expiry_date,
                subject_id,
                extra_headers=extra_headers,
                http_timeout=http_timeout,
            )
        )

    def get_session(
        self,
        session_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Session:
        """Return the session's details."""
        return self._run(
            self._async.get_session(
                session_id, extra_headers=extra_headers, http_timeout=http_timeout
            )
        )

    def list_sessions(
        self,
        status: str | None = None,
        subject_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> SessionPage:
        """Return one page of sessions; see :meth:`AsyncSessionClient.list_sessions`."""
        return self._run(
            self._async.list_sessions(
                status,
                subject_id,
                limit,
                cursor,
                extra_headers=extra_headers,
                http_timeout=http_timeout,
            )
        )

    def iter_sessions(
        self,
        status: str | None = None,
        subject_id: str | None = None,
        *,
        page_size: int = 100,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Iterator[Session]:
        """Every session, oldest first, a page at a time; see
        :meth:`AsyncSessionClient.iter_sessions`."""
        options = options_of(extra_headers, http_timeout)
        yield from every_item_sync(
            lambda cursor: self.list_sessions(status, subject_id, page_size, cursor, **options)
        )

    def list_messages(
        self,
        session_id: str,
        limit: int = 100,
        cursor: str | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> MessagePage:
        """Return one page of the session's record; see
        :meth:`AsyncSessionClient.list_messages`."""
        return self._run(
            self._async.list_messages(
                session_id, limit, cursor, extra_headers=extra_headers, http_timeout=http_timeout
            )
        )

    def iter_messages(
        self,
        session_id: str,
        *,
        page_size: int = 100,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Iterator[Message]:
        """Every message of the session, oldest first, a page at a time; see
        :meth:`AsyncSessionClient.iter_messages`."""
        options = options_of(extra_headers, http_timeout)
        yield from every_item_sync(
            lambda cursor: self.list_messages(session_id, page_size, cursor, **options)
        )

    def send_message(
        self,
        session_id: str,
        channel_id: str,
        message: str,
        *,
        subject_id: str | None = None,
        message_id: str | None = None,
        response_schema: Mapping[str, Any] | type[ModelClass] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Message:
        """Send a message to the human communication channel; return the API's record.

        See :meth:`AsyncSessionClient.send_message` (``message_id`` makes a repeat send nothing
        new; ``response_schema`` says what the answer must look like)."""
        return self._run(
            self._async.send_message(
                session_id,
                channel_id,
                message,
                subject_id=subject_id,
                message_id=message_id,
                response_schema=response_schema,
                extra_headers=extra_headers,
                http_timeout=http_timeout,
            )
        )

    def get_message(
        self,
        session_id: str,
        message_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Message:
        """Return a message with its state and, once answered, ``response``."""
        return self._run(
            self._async.get_message(
                session_id, message_id, extra_headers=extra_headers, http_timeout=http_timeout
            )
        )

    def submit_response(
        self,
        session_id: str,
        message_id: str,
        response: dict[str, Any],
        *,
        responded_by: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Message:
        """Submit a human's answer (for channel integrations); see
        :meth:`AsyncSessionClient.submit_response`."""
        return self._run(
            self._async.submit_response(
                session_id,
                message_id,
                response,
                responded_by=responded_by,
                extra_headers=extra_headers,
                http_timeout=http_timeout,
            )
        )

    def expire_sessions(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> ExpireResult:
        """Trigger the expiry process to mark expired sessions."""
        return self._run(
            self._async.expire_sessions(extra_headers=extra_headers, http_timeout=http_timeout)
        )

    def reject_session(
        self,
        session_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Session:
        """Reject (cancel) a session by updating its status to ``FAILED``."""
        return self._run(
            self._async.reject_session(
                session_id, extra_headers=extra_headers, http_timeout=http_timeout
            )
        )

    @overload
    def send_and_wait_for_response(
        self,
        session_id: str,
        channel_id: str,
        message: str,
        subject_id: str,
        timeout: int | float = 60,
        *,
        message_id: str | None = None,
        response_schema: type[M],
        reminders: Sequence[float] = (),
        escalate_to: Sequence[tuple[float, str]] = (),
        on_timeout: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> ModelResponsePayload[M]: ...

    @overload
    def send_and_wait_for_response(
        self,
        session_id: str,
        channel_id: str,
        message: str,
        subject_id: str,
        timeout: int | float = 60,
        *,
        message_id: str | None = None,
        response_schema: Mapping[str, Any] | None = None,
        reminders: Sequence[float] = (),
        escalate_to: Sequence[tuple[float, str]] = (),
        on_timeout: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> ResponsePayload: ...

    def send_and_wait_for_response(
        self,
        session_id: str,
        channel_id: str,
        message: str,
        subject_id: str,
        timeout: int | float = 60,
        *,
        message_id: str | None = None,
        response_schema: Mapping[str, Any] | type[ModelClass] | None = None,
        reminders: Sequence[float] = (),
        escalate_to: Sequence[tuple[float, str]] = (),
        on_timeout: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> ResponsePayload | ModelResponsePayload[Any]:
        """Send a message and block until the answer arrives on NATS or ``timeout`` passes.

        See :meth:`AsyncSessionClient.send_and_wait_for_response` for what it returns/raises,
        ``message_id``, ``response_schema`` and the waiting policies (``reminders``,
        ``escalate_to``, ``on_timeout``).
        """
        # The two overloads' results join into one TypedDict for mypy; it is one of them.
        return cast(
            ResponsePayload,
            self._run(
                self._async.send_and_wait_for_response(
                    session_id,
                    channel_id,
                    message,
                    subject_id,
                    timeout,
                    message_id=message_id,
                    response_schema=response_schema,
                    reminders=reminders,
                    escalate_to=escalate_to,
                    on_timeout=on_timeout,
                    extra_headers=extra_headers,
                    http_timeout=http_timeout,
                )
            ),
        )

    def send_and_wait_for_quorum(
        self,
        session_id: str,
        channel_ids: Sequence[str],
        message: str,
        subject_id: str,
        *,
        quorum: int,
        timeout: int | float,
        message_id: str | None = None,
        accept: Accept | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> QuorumResult:
        """Send to each channel and block until ``quorum`` answers are accepted; see
        :meth:`AsyncSessionClient.send_and_wait_for_quorum` (``accept`` runs on the client's
        event loop thread)."""
        return self._run(
            self._async.send_and_wait_for_quorum(
                session_id,
                channel_ids,
                message,
                subject_id,
                quorum=quorum,
                timeout=timeout,
                message_id=message_id,
                accept=accept,
                extra_headers=extra_headers,
                http_timeout=http_timeout,
            )
        )

    @overload
    def wait_for_response(
        self,
        session_id: str,
        subject_id: str,
        message_id: str | None = None,
        timeout: int | float = 60,
        *,
        response_schema: type[M],
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> ModelResponsePayload[M]: ...

    @overload
    def wait_for_response(
        self,
        session_id: str,
        subject_id: str,
        message_id: str | None = None,
        timeout: int | float = 60,
        *,
        response_schema: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> ResponsePayload: ...

    def wait_for_response(
        self,
        session_id: str,
        subject_id: str,
        message_id: str | None = None,
        timeout: int | float = 60,
        *,
        response_schema: Mapping[str, Any] | type[ModelClass] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> ResponsePayload | ModelResponsePayload[Any]:
        """Resume waiting for an answer; see :meth:`AsyncSessionClient.wait_for_response`."""
        return cast(
            ResponsePayload,
            self._run(
                self._async.wait_for_response(
                    session_id,
                    subject_id,
                    message_id,
                    timeout,
                    response_schema=response_schema,
                    extra_headers=extra_headers,
                    http_timeout=http_timeout,
                )
            ),
        )

    def responses(
        self,
        subject_id: str,
        *,
        group: str,
        ack_wait: int | float = 30,
        max_in_flight: int = 32,
    ) -> SyncResponses:
        """The answers and session ends of ``subject_id``, shared as work by ``group``: a
        plain iterator; see :meth:`AsyncSessionClient.responses`. ``close()`` from another
        thread ends the loop."""
        return SyncResponses(
            self._run,
            self._async.responses(
                subject_id, group=group, ack_wait=ack_wait, max_in_flight=max_in_flight
            ),
        )

    def close(self) -> None:
        """Close NATS and HTTP connections and stop the private loop thread. Idempotent.

        Safe from any thread at any time: calls running in other threads end with
        :class:`ClientClosedError`, and so does every later call. Bounded; never raises.
        """
        self._loop.close(self._async.aclose())

    def __enter__(self) -> SessionClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
