"""The REST side: an httpx client (retries, auth, error mapping) driving the generated calls."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from . import _http
from ._attempt import attempt_deadline
from ._bodies import ACCEPT_ENCODING
from ._direct_client import DirectClient
from ._telemetry import Telemetry, TracedTransport
from ._transport import DeferredAiohttp, default_transport
from .config import redact_url
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    SessionClientError,
    api_error_class,
)
from .limits import MAX_CONNECTIONS, MAX_RESPONSE_BYTES, RequestSlots
from .retries import RetryingTransport

if TYPE_CHECKING:
    from ._session_api import Client

__all__ = ["RestApi"]


class _Detailed(Protocol):
    @property
    def parsed(self) -> Any: ...

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def _problem(response: _http.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def _raise_api_errors(response: _http.Response) -> None:
    """httpx response hook: turn every error status into its :class:`APIError` subclass, so
    the generated code only ever parses success bodies."""
    if response.status_code < 400:
        return
    await response.aread()
    raise api_error_class(response.status_code)(
        response.status_code,
        _problem(response),
        response.headers.get("x-request-id"),
        f"{response.request.method} {response.request.url.path}",
    )


class RestApi:
    """The generated ``session_api`` client over one pooled httpx client."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        timeout: float | _http.Timeout,
        max_retries: int,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        transport: _http.AsyncBaseTransport | None = None,
        verify: Any = True,
        telemetry: Telemetry | None = None,
    ) -> None:
        headers = {"User-Agent": "session_client_lib", "Accept-Encoding": ACCEPT_ENCODING}
        if api_key is not None:
            headers["Authorization"] = f"Bearer {api_key}"
        # As many kept alive as the pool holds, so busy clients never reconnect (see
        # MAX_CONNECTIONS for why the pool is small).
        limits = _http.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
        )
        inner = transport or default_transport(verify, limits)
        # Its connections, let go without closing when their event loop is gone (abandon).
        self._own = inner if isinstance(inner, DeferredAiohttp) else None
        if telemetry is not None:  # inside the retries: a span per attempt
            inner = TracedTransport(inner, telemetry)
        timeouts = _http.Timeout(timeout)
        self._slots = RequestSlots(MAX_CONNECTIONS, timeouts.pool)
        retrying = RetryingTransport(
            inner,
            max_retries=max_retries,
            attempt_timeout=attempt_deadline(timeouts),
            max_response_bytes=max_response_bytes,
            while_backing_off=self._slots.released,
        )
        self.http = DirectClient(
            base_url=base_url,
            headers=headers,
            timeout=timeouts,
            transport=retrying,
            event_hooks={"response": [_raise_api_errors]},
        )
        # The latest response's Date header and when it came (parsed only when asked).
        self._date: tuple[str, float] | None = None
        self._base_url = base_url
        self._client: Client | None = None

    @property
    def clock_offset(self) -> float:
        """The server's clock minus this host's, from the latest successful response's ``Date``
        header (to the second; 0 before any response or without the header)."""
        if self._date is None:
            return 0.0
        date, received = self._date
        try:
            return email.utils.parsedate_to_datetime(date).timestamp() - received
        except (TypeError, ValueError):
            return 0.0

    @property
    def client(self) -> Client:
        """The generated ``session_api.Client`` over :attr:`http`, made (and the generated
        package imported) on first use."""
        if self._client is None:
            from ._session_api import Client

            self._client = Client(base_url=self._base_url).set_async_httpx_client(self.http)
        return self._client

    async def call(
        self, operation: Callable[..., Awaitable[_Detailed]], *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """Run a generated ``asyncio_detailed`` call; return the body the server sent, as a
        plain dict, once the generated models accepted it (the same dict whether an answer
        came over NATS or from the REST API: no re-serialised timestamps)."""
        try:
            async with self._slots:  # retries included, but not their back-off waits
                response = await operation(*args, client=self.client, **kwargs)
        except SessionClientError:
            raise
        except _http.TimeoutException as exc:
            raise APITimeoutError(
                f"the API at {redact_url(self._base_url)} did not answer in time: {exc!r}"
            ) from exc
        except _http.HTTPError as exc:
            raise APIConnectionError(
                f"cannot reach the API at {redact_url(self._base_url)}: {exc!r}"
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise APIResponseValidationError(f"malformed API response: {exc!r}") from exc
        if response.parsed is None:
            raise APIResponseValidationError("the API answered with an undocumented status")
        date = response.headers.get("date")
        if date is not None:
            self._date = (date, time.time())
        body: dict[str, Any] = json.loads(response.content)
        return body

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    def abandon(self) -> None:
        """Let the connection pool go without I/O: its event loop is closed."""
        if self._own is not None:
            self._own.abandon()
