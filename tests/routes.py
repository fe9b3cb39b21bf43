"""The generated routes sent with plain httpx: tests of the server through the contract's own
request builders, without the library's call path."""

from __future__ import annotations

from types import ModuleType, TracebackType
from typing import Any

import httpx


class Routes:
    """``await routes.call(route, *args, **kwargs)``: send ``route.request(...)``."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url)

    async def call(self, route: ModuleType, *args: Any, **kwargs: Any) -> httpx.Response:
        method, path, headers, content = route.request(*args, **kwargs)
        return await self.http.request(method, path, headers=headers, content=content)

    async def __aenter__(self) -> Routes:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.aclose()
