"""What a consumer member uses of the NATS link, faked for unit tests of its edge cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import payloads


class Message:
    """What the member reads of a JetStream message (the ``n``-th of the stream), and what it
    did with it."""

    def __init__(self, n: int = 1) -> None:
        self.data = json.dumps(payloads.answer(ok=True)).encode()
        self.headers = None
        self.reply = f"$JS.ACK.SESSION_RESPONSES.g.1.{n}.{n}.1733480000000000000.0"
        self.subject = "sessions.responses.refunds.s1"
        self.outcome = ""

    async def ack(self) -> None:
        self.outcome = "ack"

    async def nak(self) -> None:
        self.outcome = "nak"


class Link:
    """Joins the given ``pull``; :meth:`reconnect` calls the hooks as a reconnect would."""

    def __init__(self, pull: Any) -> None:
        self.pull = pull
        self.reconnect_hooks: set[Callable[[], None]] = set()

    async def durable(self, *args: Any, **kwargs: Any) -> Any:
        return self.pull

    def reconnect(self) -> None:
        for hook in list(self.reconnect_hooks):
            hook()
