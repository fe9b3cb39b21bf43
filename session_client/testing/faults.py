"""Fault injection for the reference server: refused requests, connection resets and responses
lost after the request was processed - the failures a client's retries must survive."""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FaultInjectionMiddleware", "Faults"]


@dataclass(frozen=True)
class Faults:
    """Share of API requests (0 to 1) that fail, each in one way.

    ``unavailable``: answered 503 or 429 (half each) with ``Retry-After: retry_after``, not
    processed. ``reset``: the TCP connection is reset before the request is processed.
    ``drop_response``: the request is processed, then the connection is reset instead of
    answering, so the client cannot know it succeeded. ``/health`` is never faulted.
    """

    unavailable: float = 0.0
    reset: float = 0.0
    drop_response: float = 0.0
    retry_after: str = "0"
    seed: int | None = None

    def __post_init__(self) -> None:
        shares = (self.unavailable, self.reset, self.drop_response)
        if any(share < 0 for share in shares) or sum(shares) > 1:
            raise ValueError("fault shares must be >= 0 and sum to at most 1")


def _reset_connection(send: Send) -> None:
    """Reset (RST, not FIN) the client's TCP connection under ``send``.

    ASGI has no "abort" message; uvicorn's ``send`` is a method of the request cycle that owns
    the asyncio transport.
    """
    cycle: Any = getattr(send, "__self__", None)
    transport: Any = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("cannot reach the server's transport to reset the connection")
    sock: socket.socket | None = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER with a zero timeout makes close() send RST.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # As connection_lost would, a moment later: uvicorn then skips its fallback 500.
    cycle.disconnected = True


class FaultInjectionMiddleware:
    """Applies :class:`Faults` to every API request; must wrap the app outermost (it needs the
    server's own ``send``). ``injected`` counts the faults by kind."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults
        self.injected: Counter[str] = Counter()
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()

    def _draw(self) -> str | None:
        faults = self.faults
        with self._lock:
            roll = self._random.random()
            kind: str | None = None
            if roll < faults.unavailable:
                kind = self._random.choice(("503", "429"))
            elif roll < faults.unavailable + faults.reset:
                kind = "reset"
            elif roll < faults.unavailable + faults.reset + faults.drop_response:
                kind = "drop_response"
            if kind is not None:
                self.injected[kind] += 1
            return kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = self._draw() if scope["type"] == "http" and scope["path"] != "/health" else None
        if kind is None:
            await self.app(scope, receive, send)
        elif kind == "reset":
            _reset_connection(send)
        elif kind == "drop_response":

            async def discard(message: Message) -> None:
                pass

            await self.app(scope, receive, discard)
            _reset_connection(send)
        else:
            status = int(kind)
            body = json.dumps(
                {"type": "urn:session-api:injected-fault", "title": "Injected", "status": status}
            ).encode()
            headers = [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", self.faults.retry_after.encode()),
            ]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
