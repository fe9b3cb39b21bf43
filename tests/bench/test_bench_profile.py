"""The grouping of ``make bench``'s cProfile self time by library (no servers)."""

from __future__ import annotations

import pytest

from scripts.bench_profile import (
    BUILTINS,
    GENERATED,
    HARNESS,
    OTHER,
    OTHER_STDLIB,
    STDLIB_IO,
    Paths,
    by_library,
    library_of,
)

PATHS = Paths(
    stdlib="/py/lib/python3.13",
    site_packages=("/venv/lib/python3.13/site-packages",),
    checkout="/work/repo",
)
SITE = "/venv/lib/python3.13/site-packages"


@pytest.mark.parametrize(
    ("filename", "function", "library"),
    [
        (f"{SITE}/httpx/_client.py", "send", "httpx"),
        (f"{SITE}/httpcore/_async/connection_pool.py", "handle_async_request", "httpcore"),
        (f"{SITE}/anyio/_backends/_asyncio.py", "checkpoint", "anyio"),
        (f"{SITE}/aiohttp/client.py", "_request", "aiohttp"),
        (f"{SITE}/nats/aio/client.py", "subscribe", "nats"),
        (f"{SITE}/h11/_connection.py", "next_event", "h11"),
        (f"{SITE}/sniffio.py", "current_async_library", "sniffio"),
        (
            "/work/repo/session_client/async_client.py",
            "send_and_wait_for_response",
            "session_client",
        ),
        ("/work/repo/session_client/_wait/_router.py", "wait", "session_client"),
        ("/work/repo/session_client/_session_api/models/message.py", "from_dict", GENERATED),
        ("/work/repo/generated/session_api/models/message.py", "to_dict", GENERATED),
        ("/work/repo/scripts/bench_floors.py", "post", HARNESS),
        ("/py/lib/python3.13/asyncio/base_events.py", "_run_once", "asyncio"),
        ("/py/lib/python3.13/selectors.py", "select", STDLIB_IO),
        ("/py/lib/python3.13/ssl.py", "wrap_socket", STDLIB_IO),
        ("/py/lib/python3.13/socket.py", "getpeername", STDLIB_IO),
        ("/py/lib/python3.13/json/decoder.py", "decode", OTHER_STDLIB),
        ("/py/lib/python3.13/uuid.py", "uuid4", OTHER_STDLIB),
        ("<frozen importlib._bootstrap>", "_find_and_load", OTHER_STDLIB),
        ("<string>", "<module>", OTHER),
        ("/elsewhere/thing.py", "f", OTHER),
        # C functions: the module is in the name.
        ("~", "<method 'poll' of 'select.epoll' objects>", STDLIB_IO),
        ("~", "<method 'send' of '_socket.socket' objects>", STDLIB_IO),
        ("~", "<method 'read' of '_ssl._SSLSocket' objects>", STDLIB_IO),
        ("~", "<built-in method _asyncio.get_running_loop>", "asyncio"),
        ("~", "<method 'run' of '_contextvars.Context' objects>", OTHER_STDLIB),
        ("~", "<method 'append' of 'list' objects>", BUILTINS),
        ("~", "<built-in method builtins.len>", BUILTINS),
        (
            "~",
            "<method 'feed_data' of 'aiohttp._http_parser.HttpResponseParser' objects>",
            "aiohttp",
        ),
        ("~", "<method 'add' of 'multidict._multidict.CIMultiDict' objects>", "multidict"),
    ],
)
def test_each_function_belongs_to_the_top_level_package_of_its_file(
    filename: str, function: str, library: str
) -> None:
    assert library_of(filename, function, PATHS) == library


def test_self_time_is_summed_per_library() -> None:
    rows = [
        (f"{SITE}/httpx/_client.py", "send", 0.25),
        (f"{SITE}/httpx/_models.py", "read", 0.5),
        ("/py/lib/python3.13/asyncio/events.py", "_run", 0.125),
        ("~", "<method 'poll' of 'select.epoll' objects>", 1.0),
    ]
    assert by_library(rows, PATHS) == {"httpx": 0.75, "asyncio": 0.125, STDLIB_IO: 1.0}
