"""Defaults and environment variables of the clients."""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "API_TOKEN_ENV",
    "API_URL_ENV",
    "DEFAULT_NATS_URL",
    "NATS_URL_ENV",
    "redact_url",
    "resolve_api_base_url",
    "resolve_api_key",
    "resolve_nats_servers",
]

NATS_URL_ENV = "ORG_NATS_URL"
API_TOKEN_ENV = "ORG_API_TOKEN"
#: The REST API base URL for the ``session-client`` command (the classes take it as argument).
API_URL_ENV = "ORG_API_URL"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
_NATS_SCHEMES = ("nats", "tls", "ws", "wss")


def resolve_api_base_url(api_base_url: object) -> str:
    """Check that the API base URL is an absolute http(s) URL; drop a trailing slash."""
    if not isinstance(api_base_url, str):
        raise TypeError(f"api_base_url must be a str, got {type(api_base_url).__name__}")
    parts = urlsplit(api_base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"api_base_url must be an http:// or https:// URL, got {redact_url(api_base_url)!r}"
        )
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
    return api_key


def redact_url(url: str) -> str:
    """``url`` without its secret: ``nats://user:***@host`` or ``nats://***@host`` (a token)."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=f"{user + ':' if colon else ''}***@{host}"))
