"""session_client_lib: put a human in the loop.

Create a session, send a message to a human over a communication channel and wait - blocking
or async, with a timeout - for the answer, which the session management server publishes on
NATS::

    from session_client import SessionClient

    client = SessionClient(api_base_url="http://localhost:8000")
"""

import logging

from .async_client import AsyncSessionClient
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
    NatsAuthenticationError,
    NatsUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTimeoutError,
    SessionClientError,
    SessionClosedError,
    SessionExpiredError,
    SessionRejectedError,
    UnprocessableEntityError,
    WrongEventLoopError,
)
from .sync_client import SessionClient

__version__ = "0.1.0"

# A library leaves its log output to the application: without a handler of its own, logging's
# last-resort handler would print every warning (a refused NATS connect, ...) to stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseTooLargeError",
    "APIResponseValidationError",
    "APITimeoutError",
    "AsyncSessionClient",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "InternalServerError",
    "NatsAuthenticationError",
    "NatsUnavailableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTimeoutError",
    "SessionClient",
    "SessionClientError",
    "SessionClosedError",
    "SessionExpiredError",
    "SessionRejectedError",
    "UnprocessableEntityError",
    "WrongEventLoopError",
]
