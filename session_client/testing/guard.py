"""Keeps web pages in the developer's browser away from the local stack's API.

The stack listens on loopback, but any page the developer opens can send requests to it: a
cross-site ``<form>`` (no CORS preflight), or a page of a DNS name rebound to 127.0.0.1, which
the browser then treats as same-origin. So every request must name this machine in ``Host``
(or a host the stack was told to allow), and a request that changes state must not come from a
page of another origin. Bodies must be JSON too (:mod:`.app`), which no form can send.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .problems import Problem, problem_response

__all__ = ["ANY_HOST", "BrowserGuardMiddleware", "host_name", "is_loopback_address"]

#: In ``allowed_hosts``: answer whatever host a request names.
ANY_HOST = "*"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback_address(text: str) -> bool:
    """Whether ``text`` is a loopback IP address (IPv4-mapped ones included)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


def host_name(host: str) -> str:
    """The name in a ``Host`` header value, without its port or IPv6 brackets, lower case."""
    if host.startswith("["):
        return host[1:].partition("]")[0].lower()
    return host.rpartition(":")[0].lower() if host.count(":") == 1 else host.lower()


class BrowserGuardMiddleware:
    """Refuses requests naming a host other than loopback or ``allowed_hosts`` (421), and
    state-changing requests whose ``Origin`` is another site (403)."""

    def __init__(self, app: ASGIApp, allowed_hosts: Collection[str] = ()) -> None:
        self.app = app
        self.any_host = ANY_HOST in allowed_hosts
        self.allowed_hosts = frozenset(host_name(host) for host in allowed_hosts)

    def _allowed(self, name: str) -> bool:
        return (
            self.any_host
            or name in _LOOPBACK_NAMES
            or is_loopback_address(name)
            or name in self.allowed_hosts
        )

    def _refusal(self, scope: Scope) -> Problem | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self._allowed(host_name(host)):
            return Problem(
                421,
                "host-not-allowed",
                "Misdirected Request",
                f"this local stack does not answer to the host {host!r} (a DNS name rebound to"
                " it?); allow it with allowed_hosts / --allowed-host",
            )
        origin = headers.get("origin")
        own_origin = f"{scope.get('scheme', 'http')}://{host}".lower()
        changes_state = scope["method"] not in _SAFE_METHODS
        if changes_state and origin is not None and origin.lower() != own_origin:
            return Problem(
                403,
                "cross-origin",
                "Forbidden",
                f"a page of {origin} cannot change this local stack's state",
            )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self._refusal(scope)
            if problem is not None:
                response = problem_response(problem, scope.get("request_id", ""))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
