"""NATS that no client can use, as a misconfiguration leaves it (issue 26, item 1): a host name
that does not resolve, a port that accepts connections and never says a word, and a real
nats-server that wants a token the client lacks. Each yields the URL a client is given, from a
context manager that sync tests, async tests and child processes alike can use."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from session_client import NatsAuthenticationError, NatsUnavailableError
from session_client.testing import NatsServer

__all__ = ["MISCONFIGURED", "WRONG_TOKEN", "Misconfigured", "host_of", "silent_port"]

#: The token the client sends to a server that wants another: no error text may show it.
WRONG_TOKEN = "wrong-s3cret-token"


@contextlib.contextmanager
def silent_port() -> Iterator[str]:
    """A loopback TCP server that accepts every connection and says nothing, from a thread of
    its own: its ``nats://`` URL."""
    loop = asyncio.new_event_loop()
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # kept open, never written to

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    starting = asyncio.start_server(hold, "127.0.0.1", 0)
    server = asyncio.run_coroutine_threadsafe(starting, loop).result(10)
    try:
        yield f"nats://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:

        def stop() -> None:
            server.close()
            for writer in held:
                writer.close()
            loop.stop()

        loop.call_soon_threadsafe(stop)
        thread.join(10)
        loop.close()


@contextlib.contextmanager
def _unresolvable() -> Iterator[str]:
    yield "nats://no-such-host.invalid:4222"  # .invalid never resolves (RFC 2606)


@contextlib.contextmanager
def _wrong_token() -> Iterator[str]:
    with NatsServer(jetstream=False, extra_args=["--auth", "the-right-token"]) as server:
        yield f"nats://{WRONG_TOKEN}@{server.host}:{server.port}"


@dataclass(frozen=True)
class Misconfigured:
    """One way to misconfigure NATS: the URL a client is given (from a context manager that
    keeps what serves it running), what the client must raise, and how soon."""

    serve: Callable[[], contextlib.AbstractContextManager[str]]
    error: type[NatsUnavailableError]
    #: The longest a send may take to fail, in seconds: at once where retrying cannot help;
    #: for the silent port, three attempts of connect_timeout=2 s (see _nats.FirstConnect).
    bound: float


def host_of(url: str) -> str:
    """What an error about ``url`` must name: its host and port (never its credentials)."""
    return url.rsplit("@", 1)[-1].removeprefix("nats://")


#: The three misconfigurations of issue 26, by name.
MISCONFIGURED = {
    "unresolvable host": Misconfigured(_unresolvable, NatsUnavailableError, 2.0),
    "silent port": Misconfigured(silent_port, NatsUnavailableError, 9.0),
    "wrong token": Misconfigured(_wrong_token, NatsAuthenticationError, 2.0),
}
