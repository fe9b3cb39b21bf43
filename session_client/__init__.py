"""session_client_lib: put a human in the loop.

Create a session, send a message to a human over a communication channel and wait - blocking
or async, with a timeout - for the answer, which the session management server publishes on
NATS::

    from session_client import SessionClient

    client = SessionClient(api_base_url="http://localhost:8000")
"""

import logging
from typing import TYPE_CHECKING

from ._logging import configure_logging
from ._policies.default import is_defaulted
from ._version import __version__ as __version__
from .consumed import Answered, ConsumedItem, SessionEnded
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseTooLargeError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    InternalServerError,
    InvalidAnswerError,
    NatsAuthenticationError,
    NatsUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    QuorumTimeoutError,
    QuorumUnreachableError,
    RateLimitError,
    RequestTooLargeError,
    ResponseTimeoutError,
    SessionClientError,
    SessionClosedError,
    SessionExpiredError,
    SessionRejectedError,
    UnprocessableEntityError,
    WrongEventLoopError,
)

if TYPE_CHECKING:
    from .async_client import AsyncSessionClient
    from .sync_client import SessionClient
else:

    def __getattr__(name: str) -> object:
        """Import the clients (httpx, nats-py: ~0.1 s) on first use, so that importing a
        light module of the package - the pytest plugin, which every pytest run in the
        environment loads - does not import them. Hidden from type checkers, which would
        otherwise accept any name."""
        if name == "AsyncSessionClient":
            from .async_client import AsyncSessionClient as client
        elif name == "SessionClient":
            from .sync_client import SessionClient as client
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = client
        return client


configure_logging(logging.getLogger(__name__))

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseTooLargeError",
    "APIResponseValidationError",
    "APITimeoutError",
    "Answered",
    "AsyncSessionClient",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "ConsumedItem",
    "InternalServerError",
    "InvalidAnswerError",
    "NatsAuthenticationError",
    "NatsUnavailableError",
    "NotFoundError",
    "PermissionDeniedError",
    "QuorumTimeoutError",
    "QuorumUnreachableError",
    "RateLimitError",
    "RequestTooLargeError",
    "ResponseTimeoutError",
    "SessionClient",
    "SessionClientError",
    "SessionClosedError",
    "SessionEnded",
    "SessionExpiredError",
    "SessionRejectedError",
    "UnprocessableEntityError",
    "WrongEventLoopError",
    "is_defaulted",
]
