"""What a consumer member uses of the NATS link, faked for unit tests of its edge cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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
