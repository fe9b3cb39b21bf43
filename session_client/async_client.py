"""``AsyncSessionClient``: the asyncio client of the session management system."""

from __future__ import annotations

import asyncio
import copy as _copy
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, cast, overload

from . import _fork
from ._calls import CallTracker, tracked
from ._message_ids import message_id_or_new
from ._paging import every_item, options_of
from ._policies.default import defaulted_payload
from ._policies.ids import quorum_id
from ._policies.policy import first_answer
from ._policies.quorum import quorum_of
from ._policies.schedule import plan
from ._policies.tally import Accept
from ._policies.target import Target
from ._rest import MAX_RESPONSE_BYTES, RestClient
from ._telemetry import Telemetry
from ._wait import ResponseWaiter
from ._wait._consumer import Member, Responses
from .answer_schemas import ModelClass, answer_schema
from .config import (
    CallOptions,
    HttpOptions,
    check_max_retries,
    redact_url,
    resolve_api_base_url,
    resolve_api_key,
    resolve_http_backend,
    resolve_http_timeout,
    resolve_nats_servers,
    resolve_verify,
)
from .errors import (
    APIResponseValidationError,
    ClientClosedError,
    InvalidAnswerError,
    ResponseTimeoutError,
)
from .subjects import (
    DEFAULT_SUBJECT_TEMPLATE,
    response_subject,
    subject_wide,
    validate_subject_template,
)
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
from .validation import (
    check_cursor,
    check_expiry_date,
    check_group,
    check_identifier,
    check_json_object,
    check_limit,
    check_max_in_flight,
    check_max_response_bytes,
    check_message,
    check_quorum,
    check_responded_by,
    check_status,
    check_subject_id,
    check_timeout,
)

__all__ = ["AsyncSessionClient"]

M = TypeVar("M", bound=ModelClass)

# The generated ``session_api`` modules (attrs, dateutil, ~25 ms) are imported by the methods
# that use them, on first use, so ``import session_client`` stays cheap.


def _idempotency_key() -> str:
    """128 random bits in hex, as ``uuid.uuid4().hex`` but at a fifth of its cost."""
    return os.urandom(16).hex()


class AsyncSessionClient:
    """Creates sessions, sends messages to humans and awaits their answers over NATS.

    Nothing connects at construction: HTTP connections are pooled on first use, and NATS
    connects on the first wait; that one connection is reused for the client's lifetime.
    Use ``async with`` or call :meth:`aclose`.

    Args:
        api_base_url: Base URL of the REST API, e.g. ``http://localhost:8000``; default
            ``ORG_API_URL``.
        nats_servers: NATS server URLs; default ``ORG_NATS_URL`` (comma-separated) or
            ``nats://127.0.0.1:4222``.
        api_key: Bearer token; default ``ORG_API_TOKEN``. Never shown in ``repr`` or errors.
        http_timeout: Seconds one HTTP attempt may take: connecting, sending, the headers and
            the whole body (or an ``httpx.Timeout``: its longest connect/read/write value;
            ``pool`` bounds the wait for a free connection). Not the waits' ``timeout``.
        max_retries: Retries of a failed HTTP request (connect errors, timeouts,
            408/429/502/503/504), with exponential backoff, jitter and ``Retry-After``.
        max_response_bytes: The largest response body accepted, decompressed (default
            10 MiB); a larger one raises :class:`APIResponseTooLargeError`.
        subject_template: Response subject template, with one ``{subject_id}`` placeholder.
        nats_options: Extra keyword arguments for ``nats.connect`` (TLS, credentials, ...).
        verify: TLS verification for HTTPS: ``True`` (default: ``SSL_CERT_FILE`` /
            ``SSL_CERT_DIR`` if set, else certifi's bundle), ``False``, a CA bundle path or an
            ``ssl.SSLContext``.
        http_backend: The HTTP library: ``"httpx"`` (default), ``"aiohttp"`` (the ``aiohttp``
            extra: less CPU per call) or ``"httpx2"`` (the ``httpx2`` extra); default
            ``ORG_HTTP_BACKEND``. Each honours ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY``.
        http_transport: An httpx transport for the httpx backend (tests, mocks); proxies from
            the environment then do not apply, as in httpx.
        tracer_provider: The OpenTelemetry ``TracerProvider`` for the client's spans; default
            the global one. Nothing is recorded while neither is configured.
        meter_provider: The OpenTelemetry ``MeterProvider`` for its metrics; default the global
            one.
        timeout: Deprecated name of ``http_timeout``.
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
        self.api_base_url = resolve_api_base_url(api_base_url)
        self.nats_servers = resolve_nats_servers(nats_servers)
        options = HttpOptions(
            backend=resolve_http_backend(http_backend, http_transport),
            timeouts=resolve_http_timeout(http_timeout, timeout),
            verify=resolve_verify(verify),
            transport=http_transport,
            api_key=resolve_api_key(api_key),
            max_retries=check_max_retries(max_retries),
            max_response_bytes=check_max_response_bytes(max_response_bytes),
        )
        self.http_backend = options.backend
        self.subject_template = validate_subject_template(subject_template)
        self._telemetry = telemetry = Telemetry(tracer_provider, meter_provider)
        nats_options = dict(nats_options or {})

        def connections() -> tuple[RestClient, ResponseWaiter]:
            rest = RestClient(self.api_base_url, options, telemetry)
            return rest, ResponseWaiter(self.nats_servers, nats_options, rest, telemetry)

        self._connections = connections
        # A list, shared with the copies with_options makes: a new event loop or a fork
        # replaces the connections of all of them at once.
        self._links: list[Any] = list(connections())
        self._calls = CallTracker(self._rebind)
        #: The members of consumer groups whose loops run (:meth:`responses`).
        self._members: set[Member] = set()
        self._call_options = CallOptions()

    def with_options(
        self,
        *,
        http_timeout: Any = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncSessionClient:
        """This client with other HTTP options for its calls, e.g.
        ``client.with_options(http_timeout=5).get_session(sid)``. It shares this client's
        connections: closing either closes both."""
        copy = _copy.copy(self)
        copy._call_options = self._call_options.override(
            http_timeout=http_timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return copy

    @property
    def _rest(self) -> RestClient:
        rest: RestClient = self._links[0]
        return rest

    @property
    def _waiter(self) -> ResponseWaiter:
        waiter: ResponseWaiter = self._links[1]
        return waiter

    def _options_of(self, extra_headers: Any, http_timeout: Any) -> CallOptions:
        """The HTTP options of one call: its own over :meth:`with_options`' over the client's."""
        return self._call_options.override(http_timeout=http_timeout, extra_headers=extra_headers)

    def _rebind(self, forked: bool) -> None:
        """New connections for a new event loop or a forked child (see :class:`CallTracker`).

        The old ones cannot be closed: their loop is closed, or they are the parent's."""
        if forked:
            _fork.keep_inherited(self._rest, self._waiter)
        else:
            self._rest.abandon()
        self._links[:] = self._connections()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(api_base_url={redact_url(self.api_base_url)!r}, "
            f"nats_servers={[redact_url(url) for url in self.nats_servers]!r}, "
            f"http_backend={self.http_backend!r})"
        )

    @property
    def nats_connection(self) -> Any:
        """The underlying ``nats.aio.client.Client`` once connected, else ``None``."""
        return self._waiter.connection

    @property
    def subscription_count(self) -> int:
        """Open response subscriptions: one per session and subject being waited on, kept 0.5
        to 1 s after its last wait, and one per subject until the server is seen publishing per
        session. 0 about a second after the last wait."""
        return self._waiter.subscription_count

    # -- REST operations --------------------------------------------------------------------

    @tracked
    async def create_session(
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
        """Create a session (status ``ACTIVE``); return its details.

        Sending the same arguments again returns the existing session. ``message_data``
        defaults to ``{}``; ``message_data_template`` is a JSON Schema for it, default
        permissive. ``expiry_date`` is a Unix timestamp; ``subject_id`` the default subject
        for answers.
        """
        body: dict[str, Any] = {
            "session_id": check_identifier("session_id", session_id),
            "message_data": {}
            if message_data is None
            else check_json_object("message_data", message_data),
            "message_data_template": {}
            if message_data_template is None
            else check_json_object("message_data_template", message_data_template),
            "expiry_date": None if expiry_date is None else check_expiry_date(expiry_date),
            "subject_id": None if subject_id is None else check_subject_id(subject_id),
        }
        from ._session_api.api.sessions import create_session as route

        request = route.request(body=body, idempotency_key=_idempotency_key())
        session: Session = await self._rest.call(
            request, route.parse, self._options_of(extra_headers, http_timeout)
        )
        return session

    @tracked
    async def get_session(
        self,
        session_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Session:
        """Return the session's details."""
        from ._session_api.api.sessions import get_session as route

        request = route.request(check_identifier("session_id", session_id))
        session: Session = await self._rest.call(
            request, route.parse, self._options_of(extra_headers, http_timeout)
        )
        return session

    @tracked
    async def list_sessions(
        self,
        status: str | None = None,
        subject_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> SessionPage:
        """Return one page ``{"items": [...], "next_cursor": ...}`` of sessions, oldest first.

        Pass ``next_cursor`` back as ``cursor`` for the next page.
        """
        query: dict[str, Any] = {"limit": check_limit(limit)}
        if status is not None:
            query["status"] = check_status(status)
        if subject_id is not None:
            query["subject_id"] = check_subject_id(subject_id)
        if cursor is not None:
            query["cursor"] = check_cursor(cursor)
        from ._session_api.api.sessions import list_sessions as route

        page: SessionPage = await self._rest.call(
            route.request(**query), route.parse, self._options_of(extra_headers, http_timeout)
        )
        return page

    async def iter_sessions(
        self,
        status: str | None = None,
        subject_id: str | None = None,
        *,
        page_size: int = 100,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> AsyncIterator[Session]:
        """Every session (of ``status`` / ``subject_id`` if given), oldest first, fetched a
        page of ``page_size`` at a time as the loop goes: ``async for session in
        client.iter_sessions(): ...``."""

        async def page(cursor: str | None) -> SessionPage:
            return await self.list_sessions(
                status, subject_id, page_size, cursor, **options_of(extra_headers, http_timeout)
            )

        async for session in every_item(page):
            yield session

    @tracked
    async def list_messages(
        self,
        session_id: str,
        limit: int = 100,
        cursor: str | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> MessagePage:
        """Return one page ``{"items": [...], "next_cursor": ...}`` of the session's record: its
        messages, oldest first, each with its ``state``, ``response_schema``, ``response``,
        ``responded_by`` and times. Pass ``next_cursor`` back as ``cursor`` for the next page.
        """
        query: dict[str, Any] = {"limit": check_limit(limit)}
        if cursor is not None:
            query["cursor"] = check_cursor(cursor)
        from ._session_api.api.messages import list_messages as route

        request = route.request(check_identifier("session_id", session_id), **query)
        page: MessagePage = await self._rest.call(
            request, route.parse, self._options_of(extra_headers, http_timeout)
        )
        return page

    async def iter_messages(
        self,
        session_id: str,
        *,
        page_size: int = 100,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> AsyncIterator[Message]:
        """Every message of the session, oldest first, fetched a page of ``page_size`` at a
        time as the loop goes: ``async for message in client.iter_messages(sid): ...``."""

        async def page(cursor: str | None) -> MessagePage:
            return await self.list_messages(
                session_id, page_size, cursor, **options_of(extra_headers, http_timeout)
            )

        async for message in every_item(page):
            yield message

    @tracked
    async def send_message(
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
        """Send ``message`` to the human on ``channel_id``; return the API's message record.

        The answer is published for ``subject_id`` (default: the session's). ``message_id``
        names the message (default: a new unique id): sending the same id and arguments again
        returns the same message, in its current state, instead of sending another.
        ``response_schema`` (a JSON Schema dict, or a pydantic model class) says what the answer
        must look like: the server refuses answers that do not match it. A schema that is not
        valid raises ``ValueError`` before anything is sent.
        """
        check_identifier("session_id", session_id)
        body: dict[str, Any] = {
            "channel_id": check_identifier("channel_id", channel_id),
            "message": check_message(message),
            "message_id": message_id_or_new(message_id),
        }
        if subject_id is not None:
            body["subject_id"] = check_subject_id(subject_id)
        if response_schema is not None:
            body["response_schema"] = answer_schema(response_schema).json_schema
        return await self._send(session_id, body, self._options_of(extra_headers, http_timeout))

    async def _send(self, session_id: str, body: dict[str, Any], options: CallOptions) -> Message:
        from ._session_api.api.messages import send_message as route

        request = route.request(session_id, body=body, idempotency_key=_idempotency_key())
        record: Message = await self._rest.call(request, route.parse, options)
        if record.get("message_id") != body["message_id"]:
            raise APIResponseValidationError(
                f"the API answered a send of message_id {body['message_id']!r} with "
                f"message_id {record.get('message_id')!r}"
            )
        return record

    @tracked
    async def get_message(
        self,
        session_id: str,
        message_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Message:
        """Return a message with its state and, once answered, ``response``."""
        from ._session_api.api.messages import get_message as route

        request = route.request(
            check_identifier("session_id", session_id),
            check_identifier("message_id", message_id),
        )
        record: Message = await self._rest.call(
            request, route.parse, self._options_of(extra_headers, http_timeout)
        )
        return record

    @tracked
    async def submit_response(
        self,
        session_id: str,
        message_id: str,
        response: dict[str, Any],
        *,
        responded_by: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Message:
        """Submit a human's answer (for channel integrations); the server publishes it.

        ``responded_by`` names who answered; it is kept with the answer and published with it.
        An answer that does not match the message's ``response_schema`` raises
        :class:`UnprocessableEntityError` (its ``problem["errors"]`` list each violation by JSON
        Pointer) and the message stays open, so the human can answer again.
        """
        from ._session_api.api.messages import submit_response as route

        body: dict[str, Any] = {"response": check_json_object("response", response)}
        if responded_by is not None:
            body["responded_by"] = check_responded_by(responded_by)
        request = route.request(
            check_identifier("session_id", session_id),
            check_identifier("message_id", message_id),
            body=body,
            idempotency_key=_idempotency_key(),
        )
        record: Message = await self._rest.call(
            request, route.parse, self._options_of(extra_headers, http_timeout)
        )
        return record

    @tracked
    async def expire_sessions(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> ExpireResult:
        """Expire every open session past its expiry date; return ``{expired_count,
        session_ids}``."""
        from ._session_api.api.sessions import expire_sessions as route

        request = route.request(idempotency_key=_idempotency_key())
        result: ExpireResult = await self._rest.call(
            request, route.parse, self._options_of(extra_headers, http_timeout)
        )
        return result

    @tracked
    async def reject_session(
        self,
        session_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> Session:
        """Reject (cancel) the session: its status becomes ``FAILED``. Returns the session."""
        from ._session_api.api.sessions import reject_session as route

        request = route.request(
            check_identifier("session_id", session_id), idempotency_key=_idempotency_key()
        )
        session: Session = await self._rest.call(
            request, route.parse, self._options_of(extra_headers, http_timeout)
        )
        return session

    # -- waiting for answers ----------------------------------------------------------------

    @overload
    async def send_and_wait_for_response(
        self,
        /,
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
    async def send_and_wait_for_response(
        self,
        /,
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

    @tracked
    async def send_and_wait_for_response(
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
        """Send ``message`` and wait for the human's answer on NATS.

        Returns the response payload (``session_id``, ``message_id``, ``channel_id``,
        ``subject_id``, ``response``, ``responded_at``). Listens before sending, so an instant
        answer is not missed.

        ``message_id`` names the message (default: a new unique id). Calling again with the same
        id and arguments - after a crash, say - sends nothing new: it waits for (or returns) the
        answer to the message sent the first time.

        ``response_schema`` (a JSON Schema dict, or a pydantic model class) says what the answer
        must look like: it is sent with the message, the server accepts only answers that match,
        and the answer is checked again on arrival. With a model class, the returned
        ``"response"`` is an instance of the model.

        Waiting policies (each delay counts from the first message's ``created_at`` on the
        server, so a call resumed with the same ``message_id`` keeps the schedule and sends
        nothing twice):

        - ``reminders``: seconds after which, still unanswered, the question is sent again
          on ``channel_id``, its text starting ``"Reminder: "``, id ``{message_id}~r1``,
          ``~r2``, ...
        - ``escalate_to``: ``(seconds, channel_id)`` pairs: the question also goes to that
          channel then, id ``{message_id}~e1``, ``~e2``, ...

          The first answer to any of these messages is returned (its own ``message_id``
          and ``channel_id`` tell which); the others stay open.
        - ``on_timeout``: a JSON object: at the deadline, return the payload of the first
          message answered with it, marked ``"defaulted": True`` (:func:`is_defaulted`),
          instead of raising :class:`ResponseTimeoutError`. It must match
          ``response_schema``. ``timeout`` counts from this call.

        Raises:
            ResponseTimeoutError: nothing arrived within ``timeout`` seconds (the session is
                left open; its ``message_id`` resumes the wait).
            SessionRejectedError / SessionExpiredError: the session closed while waiting.
            NatsUnavailableError: NATS cannot be reached, or refused this client's credentials
                (:class:`NatsAuthenticationError`), or was not ready within ``timeout``;
                raised before anything is sent, within a few seconds.
            InvalidAnswerError: the answer does not match ``response_schema`` (a forged one, or
                one from a server that does not check answers).
            APIError, APIConnectionError: the send or wait failed.
        """
        check_identifier("session_id", session_id)
        check_identifier("channel_id", channel_id)
        check_message(message)
        check_subject_id(subject_id)
        # Checked before any I/O; a call without one does no more work than before.
        schema = None if response_schema is None else answer_schema(response_schema)
        message_id = message_id_or_new(message_id)
        steps = plan(message_id, channel_id, message, reminders, escalate_to)
        if on_timeout is not None:
            check_json_object("on_timeout", on_timeout)
            if schema is not None:
                try:
                    schema.apply({"response": on_timeout})
                except InvalidAnswerError as exc:
                    raise ValueError(f"on_timeout does not match response_schema: {exc}") from None
        options = self._options_of(extra_headers, http_timeout)
        seconds = check_timeout(timeout)
        deadline = asyncio.get_running_loop().time() + seconds
        subject = response_subject(self.subject_template, subject_id)
        body: dict[str, Any] = {
            "channel_id": channel_id,
            "message": message,
            "subject_id": subject_id,
            "message_id": message_id,
        }
        if schema is not None:
            body["response_schema"] = schema.json_schema
        wait = None  # the plain wait, once registered (a policy registers its own)
        try:
            if steps:
                target = self._target(session_id, subject, subject_id, deadline, options)
                payload = await first_answer(target, body, steps)
            else:
                # In this frame, not a coroutine of its own, and the body let go once sent:
                # 10,000 pending waits would keep 10,000 of each (memory per pending wait).
                async with asyncio.timeout_at(deadline) as scope:
                    wait = await self._waiter.register(subject, subject_id, session_id, message_id)
                    try:
                        record = await self._send(session_id, body, options)
                        del body
                        self._waiter.settle_from_record(wait, record)
                        del record
                        payload = await wait.future
                    finally:
                        await self._waiter.release(wait, self._unsettled(scope))
        except TimeoutError as exc:
            if wait is None and not steps:
                raise self._waiter.not_ready() from exc
            if on_timeout is None:
                raise ResponseTimeoutError(session_id, message_id, subject, seconds) from exc
            payload = defaulted_payload(session_id, message_id, channel_id, subject_id, on_timeout)
        return cast(ResponsePayload, payload if schema is None else schema.apply(payload))

    def _target(
        self,
        session_id: str,
        subject: str,
        subject_id: str,
        deadline: float,
        options: CallOptions,
    ) -> Target:
        """What a waiting policy runs against: this client's waits and sends."""

        async def send(body: dict[str, Any]) -> Message:
            return await self._send(session_id, body, options)

        return Target(
            self._waiter, send, session_id, subject, subject_id, deadline, self._unsettled
        )

    @tracked
    async def send_and_wait_for_quorum(
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
        """Send ``message`` to each of ``channel_ids`` and wait until ``quorum`` of them are
        answered (k-of-n approval); return ``{"answers", "extra", "declined", "unanswered"}``
        (:class:`QuorumResult`): the first ``quorum`` answer payloads in arrival order, and
        the ids of the messages left open (not cancelled).

        ``accept`` (a function of an answer payload) says whether an answer counts: a declined
        answer closes its message all the same. The message to the n-th channel (from 1) has
        the id ``{message_id}~q{n}``; calling again with the same ``message_id`` and arguments
        sends nothing twice and counts the answers already given.

        Raises:
            QuorumUnreachableError: as soon as the open messages can no longer make up the
                quorum (answers declined, or the session ended: then its ``__cause__``).
            QuorumTimeoutError: the quorum was not reached within ``timeout`` seconds (a
                :class:`ResponseTimeoutError`); it reports the answers so far.
            NatsUnavailableError, APIError, APIConnectionError: as
                :meth:`send_and_wait_for_response` raises them.
        """
        check_identifier("session_id", session_id)
        if isinstance(channel_ids, str):
            raise TypeError("channel_ids must be a list of channel ids, not a str")
        channels = [check_identifier("channel_id", channel) for channel in channel_ids]
        check_message(message)
        check_subject_id(subject_id)
        count = check_quorum(quorum, len(channels))
        if accept is not None and not callable(accept):
            raise TypeError("accept must be a function of an answer payload")
        message_id = message_id_or_new(message_id)
        options = self._options_of(extra_headers, http_timeout)
        seconds = check_timeout(timeout)
        deadline = asyncio.get_running_loop().time() + seconds
        subject = response_subject(self.subject_template, subject_id)
        bodies = [
            {
                "channel_id": channel,
                "message": message,
                "subject_id": subject_id,
                "message_id": quorum_id(message_id, number),
            }
            for number, channel in enumerate(channels, 1)
        ]
        target = self._target(session_id, subject, subject_id, deadline, options)
        return cast(QuorumResult, await quorum_of(target, bodies, count, accept, seconds))

    @overload
    async def wait_for_response(
        self,
        /,
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
    async def wait_for_response(
        self,
        /,
        session_id: str,
        subject_id: str,
        message_id: str | None = None,
        timeout: int | float = 60,
        *,
        response_schema: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        http_timeout: Any = None,
    ) -> ResponsePayload: ...

    @tracked
    async def wait_for_response(
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
        """Wait for the answer to ``message_id`` (or any message of the session), e.g. to
        resume after a :class:`ResponseTimeoutError` or a restart.

        Asks the REST API first, so an answer published while nobody listened is still
        returned. ``response_schema`` checks the answer (and with a model class makes its
        ``"response"`` an instance) as in :meth:`send_and_wait_for_response`. Raises like it.
        """
        check_identifier("session_id", session_id)
        check_subject_id(subject_id)
        if message_id is not None:
            check_identifier("message_id", message_id)
        # Checked before any I/O; a call without one does no more work than before.
        schema = None if response_schema is None else answer_schema(response_schema)
        options = self._options_of(extra_headers, http_timeout)
        seconds = check_timeout(timeout)
        deadline = asyncio.get_running_loop().time() + seconds
        subject = response_subject(self.subject_template, subject_id)
        wait = None
        try:
            async with asyncio.timeout_at(deadline) as scope:
                wait = await self._waiter.register(subject, subject_id, session_id, message_id)
                try:
                    await self._waiter.check(wait, options)
                    payload = await wait.future
                    return cast(
                        ResponsePayload, payload if schema is None else schema.apply(payload)
                    )
                finally:
                    await self._waiter.release(wait, self._unsettled(scope))
        except TimeoutError as exc:
            if wait is None:
                raise self._waiter.not_ready() from exc
            raise ResponseTimeoutError(session_id, message_id, subject, seconds) from exc

    # -- consumer groups --------------------------------------------------------------------

    def responses(
        self,
        subject_id: str,
        *,
        group: str,
        ack_wait: int | float = 30,
        max_in_flight: int = 32,
    ) -> Responses:
        """The answers published for ``subject_id``, and its sessions' ends, shared as work by
        every process consuming them as ``group``: an async iterator of :class:`Answered` and
        :class:`SessionEnded` items, each handed to one member of the group.

        Backed by the JetStream durable consumer named ``group`` (made on first use, from
        the oldest item the stream keeps): what arrived while no member ran is handed out
        when one starts. An item is acknowledged when the loop asks for the next one, or when
        an ``async with`` block around the loop ends normally; one left unacknowledged (the
        process died, the handler raised) is handed out again after ``ack_wait`` seconds.
        Delivery is at least once: key what the handler does on ``item.key`` (the
        ``message_id`` of an answer). A member holds at most ``max_in_flight`` items.

        The loop ends when the client closes or the iterator's ``aclose()`` is called.
        Nothing connects until the loop asks for its first item; that raises
        :class:`NatsUnavailableError` if NATS cannot be reached or no stream covers the
        subject, ``ValueError`` if ``group`` already consumes another subject.

        Example::

            async with client.responses("refunds", group="refund-workers") as items:
                async for item in items:
                    if isinstance(item, Answered):
                        await apply_once(item.key, item.response)
        """
        check_subject_id(subject_id)
        check_group(group)
        seconds = check_timeout(ack_wait, "ack_wait")
        limit = check_max_in_flight(max_in_flight)
        subject = subject_wide(response_subject(self.subject_template, subject_id))

        async def join() -> Member:
            if self._calls.closed:
                raise ClientClosedError()
            self._calls.bind()
            waiter = self._waiter
            member = Member(
                waiter.link,
                waiter.rest,
                self._telemetry,
                subject,
                group,
                ack_wait=seconds,
                max_in_flight=limit,
            )
            self._members.add(member)
            member.on_closed = self._members.discard
            try:
                await member.open()
            except BaseException:
                await member.close(ack_current=False)
                raise
            return member

        return Responses(join)

    def _unsettled(self, scope: asyncio.Timeout) -> str:
        """How a wait ended if nothing settled it (for its span)."""
        return "timeout" if scope.expired() else "closed" if self._calls.closed else "cancelled"

    # -- lifecycle --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the NATS connection and the HTTP connection pool. Idempotent.

        Calls still running (in other tasks) end with :class:`ClientClosedError`, and so does
        every later call.
        """
        self._calls.bind()
        await self._calls.close()
        for member in list(self._members):
            await member.close(ack_current=False)
        await self._waiter.close()
        await self._rest.aclose()

    async def close(self) -> None:
        """Alias of :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> AsyncSessionClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
