"""Paging through a list method's pages, for the ``iter_*`` methods of both clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

__all__ = ["every_item", "every_item_sync", "options_of"]


async def every_item(fetch: Callable[[str | None], Awaitable[Any]]) -> AsyncIterator[Any]:
    """Every item of the pages ``fetch(cursor)`` returns, from the first (cursor None) to the
    last (``next_cursor`` None), fetched as the loop goes."""
    cursor = None
    while True:
        page = await fetch(cursor)
        for item in page["items"]:
            yield item
        cursor = page["next_cursor"]
        if cursor is None:
            return


def every_item_sync(fetch: Callable[[str | None], Any]) -> Iterator[Any]:
    """:func:`every_item` for a blocking ``fetch``."""
    cursor = None
    while True:
        page = fetch(cursor)
        yield from page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


def options_of(extra_headers: Any, http_timeout: Any) -> dict[str, Any]:
    """A call's own HTTP options, passed on to each page's call."""
    return {"extra_headers": extra_headers, "http_timeout": http_timeout}
