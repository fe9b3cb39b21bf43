"""Defaults and environment variables of the clients."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import ssl
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from .validation import check_timeout

__all__ = [
    "API_TOKEN_ENV",
    "API_URL_ENV",
    "DEFAULT_NATS_URL",
    "HTTP_BACKEND_ENV",
    "NATS_URL_ENV",
    "CallOptions",
    "HttpOptions",
    "Timeouts",
    "redact_url",
    "resolve_api_base_url",
    "resolve_api_key",
    "resolve_http_backend",
    "resolve_http_timeout",
    "resolve_nats_servers",
    "resolve_verify",
    "tls_context",
    "warn_timeout_renamed",
]

NATS_URL_ENV = "ORG_NATS_URL"
API_TOKEN_ENV = "ORG_API_TOKEN"
#: The REST API base URL, when the clients (or the ``session-client`` command) are given none.
API_URL_ENV = "ORG_API_URL"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
HTTP_BACKEND_ENV = "ORG_HTTP_BACKEND"
#: The HTTP backends (each but httpx needs the extra of its name), and the oldest release of
#: each library that its backend works with (pyproject.toml's lower bounds).
_HTTP_BACKENDS = {"httpx": (0, 27), "aiohttp": (3, 11), "httpx2": (2, 17)}
_NATS_SCHEMES = ("nats", "tls", "ws", "wss")


def resolve_api_base_url(api_base_url: object) -> str:
    """The API base URL - the argument, else ``ORG_API_URL`` - checked to be an absolute http(s)
    URL with a valid port; without a trailing slash."""
    if api_base_url is None:
        api_base_url = os.environ.get(API_URL_ENV)
        if not api_base_url:
            raise ValueError(f"api_base_url is required (or set {API_URL_ENV})")
    if not isinstance(api_base_url, str):
        raise TypeError(f"api_base_url must be a str, got {type(api_base_url).__name__}")
    parts = urlsplit(api_base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"api_base_url must be an http:// or https:// URL, got {redact_url(api_base_url)!r}"
        )
    try:
        parts.port  # noqa: B018 - raises for a port out of range or not a number
    except ValueError:
        raise ValueError(
            f"api_base_url has an invalid port: {redact_url(api_base_url)!r}"
        ) from None
    if "@" in parts.netloc:
        # httpx would send them as Basic auth over the bearer token, and log them.
        raise ValueError(
            "api_base_url must not carry credentials "
            f"({redact_url(api_base_url)!r}): pass the API token as api_key= or ORG_API_TOKEN"
        )
    return api_base_url.rstrip("/")


def resolve_nats_servers(nats_servers: Sequence[str] | str | None) -> list[str]:
    """The NATS server URLs: the argument, else ``ORG_NATS_URL`` (comma-separated), else
    ``nats://127.0.0.1:4222``."""
    if nats_servers is None:
        nats_servers = os.environ.get(NATS_URL_ENV) or DEFAULT_NATS_URL
    if isinstance(nats_servers, str):
        nats_servers = nats_servers.split(",")
    if not isinstance(nats_servers, Sequence):
        raise TypeError(f"nats_servers must be a list of URLs, got {type(nats_servers).__name__}")
    servers = []
    for server in nats_servers:
        if not isinstance(server, str):
            raise TypeError(f"nats_servers must contain str URLs, got {type(server).__name__}")
        server = server.strip()
        if not server:
            continue
        if urlsplit(server).scheme not in _NATS_SCHEMES:
            raise ValueError(
                f"NATS server {server!r} must be a URL with scheme {', '.join(_NATS_SCHEMES)}"
            )
        servers.append(server)
    if not servers:
        raise ValueError("nats_servers must name at least one NATS server")
    return servers


def resolve_api_key(api_key: str | None) -> str | None:
    """The API token: the argument, else ``ORG_API_TOKEN``, else none."""
    if api_key is None:
        api_key = os.environ.get(API_TOKEN_ENV) or None
    if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
        raise ValueError("api_key must be a non-empty str")
    if api_key is not None and not (api_key.isascii() and api_key.isprintable()):
        # It goes in a header: a line break would inject another, a non-ASCII one cannot go.
        raise ValueError("api_key must be printable ASCII (no line breaks)")
    return api_key


def warn_timeout_renamed(stacklevel: int) -> None:
    """The constructors' ``timeout=`` is deprecated (``stacklevel``: the caller's frame)."""
    warnings.warn(
        "timeout= is deprecated: it is one HTTP attempt's timeout, now http_timeout= "
        "(the waits' timeout is the whole wait)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


class Timeouts(NamedTuple):
    """One HTTP attempt's bounds: ``deadline`` over connect, headers and the whole body (a
    server dripping a byte a second cannot hold a call past it); ``pool``, waiting for one of
    the connections."""

    connect: float | None
    read: float | None
    deadline: float | None
    pool: float | None

    def phase_bounds(self) -> tuple[float | None, float | None]:
        """``(connect, read)`` for the HTTP library, None for a bound that cannot end an
        attempt before its deadline: both phases start no earlier than the attempt, so a bound
        as long as the deadline never fires first, and its timer (one per socket read, for
        some libraries) would be pure cost. ``http_timeout=seconds`` leaves only the deadline."""
        connect, read, deadline = self.connect, self.read, self.deadline
        if deadline is None:
            return connect, read
        return (
            None if connect is not None and connect >= deadline else connect,
            None if read is not None and read >= deadline else read,
        )


class HttpOptions(NamedTuple):
    """A client's HTTP options, checked (by the ``resolve_*`` functions here)."""

    backend: str
    timeouts: Timeouts
    verify: Any
    transport: Any  # an httpx transport for the httpx backends, or None
    api_key: str | None
    max_retries: int
    max_response_bytes: int


class CallOptions(NamedTuple):
    """HTTP options of some calls, over the client's: from ``with_options`` and the methods'
    own ``extra_headers`` / ``http_timeout`` (None: the client's)."""

    timeouts: Timeouts | None = None
    max_retries: int | None = None
    extra_headers: Mapping[str, str] | None = None

    def override(
        self, *, http_timeout: Any = None, max_retries: Any = None, extra_headers: Any = None
    ) -> CallOptions:
        """These options with the given ones over them, checked."""
        if http_timeout is None and max_retries is None and extra_headers is None:
            return self  # the common call: nothing to check or copy
        return CallOptions(
            self.timeouts if http_timeout is None else resolve_http_timeout(http_timeout, None),
            self.max_retries if max_retries is None else check_max_retries(max_retries),
            self.extra_headers
            if extra_headers is None
            else {**(self.extra_headers or {}), **check_headers(extra_headers)},
        )


def check_max_retries(max_retries: object) -> int:
    """A number of retries: an int >= 0."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
    return max_retries


def check_headers(headers: object) -> dict[str, str]:
    """Extra request headers, their names in lower case (so that they replace the client's):
    names are HTTP tokens, values printable ASCII (a line break would inject a header), and
    none of those that frame the request."""
    if not isinstance(headers, Mapping):
        raise TypeError(f"extra_headers must be a dict, got {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
            raise ValueError(f"extra_headers: {name!r} is not a header name")
        if name.lower() in _FRAMING:
            raise ValueError(f"extra_headers: {name!r} is set by the client itself")
        if not isinstance(value, str) or not (value.isascii() and value.isprintable()):
            raise ValueError(f"extra_headers: the value of {name!r} is not printable ASCII")
        checked[name.lower()] = value
    return checked


# RFC 9110's token; the headers that frame a request, which only the HTTP library may set.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def resolve_http_timeout(http_timeout: Any, timeout: Any) -> Timeouts:
    """``http_timeout`` (or the deprecated ``timeout``, when given): seconds > 0, all phases
    the same; or an ``httpx.Timeout``, whose deadline is its longest connect/read/write value
    (unbounded if one of them is)."""
    if timeout is not None:
        warn_timeout_renamed(stacklevel=4)
        http_timeout = timeout
    if isinstance(http_timeout, bool) or not isinstance(http_timeout, int | float):
        phases = ("connect", "read", "write", "pool")
        if not all(hasattr(http_timeout, name) for name in phases):
            raise TypeError(
                "http_timeout must be seconds or an httpx.Timeout, "
                f"got {type(http_timeout).__name__}"
            )
        values = [getattr(http_timeout, name) for name in phases]
        if any(value is not None and not value > 0 for value in values):
            raise ValueError(f"http_timeout values must be > 0 seconds, got {http_timeout!r}")
        connect, read, write, pool = values
        deadline = None if None in (connect, read, write) else max(connect, read, write)
        return Timeouts(connect, read, deadline, pool)
    seconds = check_timeout(http_timeout, "http_timeout")
    return Timeouts(seconds, seconds, seconds, seconds)


def resolve_http_backend(name: object, transport: object) -> str:
    """The HTTP backend: ``name``, else ``ORG_HTTP_BACKEND``, else httpx; checked now (known,
    installed, and able to take ``transport``)."""
    argument = "http_backend"
    if name is None:
        name, argument = os.environ.get(HTTP_BACKEND_ENV) or "httpx", HTTP_BACKEND_ENV
    if not isinstance(name, str) or name not in _HTTP_BACKENDS:
        raise ValueError(f"{argument} must be one of {', '.join(_HTTP_BACKENDS)}, got {name!r}")
    found = _installed_version(name)
    if found is None or found < _HTTP_BACKENDS[name]:
        extra = f"pip install 'session_client_lib[{name}]'"
        oldest = ".".join(map(str, _HTTP_BACKENDS[name]))
        raise ValueError(f"{argument} is {name!r}, which needs {name} {oldest} or newer: {extra}")
    if transport is not None and name == "aiohttp":
        raise ValueError("http_transport is an httpx transport: it needs an httpx backend")
    if transport is not None and not callable(getattr(transport, "handle_async_request", None)):
        kind = type(transport).__name__
        raise TypeError(f"http_transport must be an httpx.AsyncBaseTransport, got {kind}")
    return name


def _installed_version(name: str) -> tuple[int, int] | None:
    """The installed release of the library ``name`` (major, minor), found without importing
    it (another package may have brought an older one than the extra asks for)."""
    if importlib.util.find_spec(name) is None:
        return None
    try:
        found = re.match(r"(\d+)\.(\d+)", importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        return None
    return None if found is None else (int(found[1]), int(found[2]))


def tls_context(verify: Any) -> ssl.SSLContext:
    """The TLS context of a checked ``verify``, made as httpx makes it: ``True`` trusts
    ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle if installed, else
    the system's."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return context
    if verify is True:
        verify = os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")
        if verify is None and importlib.util.find_spec("certifi") is not None:
            import certifi

            verify = certifi.where()
    if verify is None:
        return ssl.create_default_context()
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


def resolve_verify(verify: Any) -> Any:
    """``verify`` checked: a bool, an ``ssl.SSLContext``, or the path of a CA file or
    directory that exists."""
    if verify is True:
        for variable in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            path = os.environ.get(variable)
            if path and not os.path.exists(path):
                raise ValueError(f"{variable}: no CA bundle at {path!r}")
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    if not isinstance(verify, str | os.PathLike):
        raise TypeError(
            "verify must be a bool, a CA bundle path or an ssl.SSLContext, "
            f"got {type(verify).__name__}"
        )
    path = os.fspath(verify)
    if not os.path.exists(path):
        raise ValueError(f"verify: no CA bundle at {path!r}")
    return path


def redact_url(url: str) -> str:
    """``url`` without its secret: ``nats://user:***@host`` or ``nats://***@host`` (a token)."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=f"{user + ':' if colon else ''}***@{host}"))
