"""What the command writes: JSON on stdout, one-line errors and the waiting indicator on stderr."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, TextIO

__all__ = ["error_line", "print_json", "show_library_logs", "waiting_indicator"]

PROG = "session-client"
# Redraw often enough that the seconds counter never looks stuck.
_TICK_SECONDS = 0.25


def print_json(value: Any, stream: TextIO) -> None:
    """Write ``value`` as JSON: indented for a person at a terminal, one compact line for a
    pipe (so ``jq`` and line-based tools get one document per line)."""
    if stream.isatty():
        text = json.dumps(value, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    stream.write(text + "\n")
    stream.flush()


def show_library_logs(stream: TextIO) -> None:
    """Write the library's log records (``session_client.*``, INFO and up) to ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("session_client")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def error_line(label: str, message: object) -> str:
    """``session-client: <label>: <message>`` on one line, whatever newlines ``message`` has."""
    text = " ".join(str(message).split())
    return f"{PROG}: {label}: {text}\n"


@contextlib.asynccontextmanager
async def waiting_indicator(subject: str, timeout: float, stream: TextIO) -> AsyncIterator[None]:
    """While the body runs, show on ``stream`` how long we have been waiting - only if
    ``stream`` is a terminal, so logs and pipes stay clean. The line is erased afterwards."""
    if not stream.isatty():
        yield
        return
    started = time.monotonic()

    async def tick() -> None:
        while True:
            waited = time.monotonic() - started
            stream.write(
                f"\r\x1b[Kwaiting for the human on {subject}: "
                f"{waited:.0f} s of {timeout:g} s (Ctrl-C to stop)"
            )
            stream.flush()
            await asyncio.sleep(_TICK_SECONDS)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        stream.write("\r\x1b[K")
        stream.flush()
