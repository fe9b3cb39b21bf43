"""The one hand-written module that imports the HTTP library.

The generated layer (``_session_api``) is openapi-python-client's httpx code; the facade reaches
httpx only through the names here. httpx has had no release since 0.28.1 and the generator is
moving its output to httpx2, the maintained fork with the same API: when it does, ``make
generate`` rewrites the generated layer and the import below is the only hand-written line that
changes (README, Compatibility).
"""

from httpx import (
    URL,
    USE_CLIENT_DEFAULT,  # the default of AsyncClient.request's options
    AsyncBaseTransport,
    AsyncByteStream,
    AsyncClient,
    AsyncHTTPTransport,
    ByteStream,
    ConnectError,
    ConnectTimeout,
    Headers,
    HTTPError,
    Limits,
    NetworkError,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    Request,
    RequestError,
    Response,
    Timeout,
    TimeoutException,
    TransportError,
    create_ssl_context,
)

__all__ = [
    "URL",
    "USE_CLIENT_DEFAULT",
    "AsyncBaseTransport",
    "AsyncByteStream",
    "AsyncClient",
    "AsyncHTTPTransport",
    "ByteStream",
    "ConnectError",
    "ConnectTimeout",
    "HTTPError",
    "Headers",
    "Limits",
    "NetworkError",
    "PoolTimeout",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Request",
    "RequestError",
    "Response",
    "Timeout",
    "TimeoutException",
    "TransportError",
    "create_ssl_context",
    "header_value",
]


def header_value(headers: Headers, name: bytes) -> bytes | None:
    """The first value of the header ``name`` (lower case), or None. Read from the raw list:
    ``Headers.get`` and ``in`` first decode every header to work out their encoding, which
    costs more than the lookup, on every request."""
    for key, value in headers.raw:
        if key.lower() == name:
            return value
    return None
