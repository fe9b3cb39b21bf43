"""Ends an embedded nats-server and removes its directory when the process holding it dies.

Run by :class:`~session_client.testing.nats_server.NatsServer` as ``python -I -S _watchdog.py
DIRECTORY``, its standard input a pipe from the holder: each line names the pid of the running
nats-server (``0``: none). The holder never closes the pipe until it has stopped the server and
removed the directory itself, so end of input before that means the holder died, whatever killed
it (SIGKILL included, which no handler in the holder can catch): then the watchdog kills the
server it was told of, removes ``DIRECTORY`` and exits.

Why a pipe and a process rather than Linux's ``PR_SET_PDEATHSIG``: the parent-death signal fires
when the *thread* that started the child ends (a stack started from a worker thread would lose its
server with that thread), needs a ``preexec_fn`` (unsafe in a process with threads, as the
reference server's are), and removes nothing. A pipe's end of input is the one thing the kernel
guarantees at any death of its holder, on any POSIX system.

Standard library only, and not imported as part of the package: it starts in about 20 ms.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time

# How long the watchdog keeps trying to remove the directory (a server being killed may still
# write to it for a moment).
_REMOVE_FOR = 10.0


def _guarded_pid() -> int:
    """Read the holder's lines until end of input; the pid named last (0: none)."""
    pid = 0
    for line in sys.stdin:
        pid = int(line)
    return pid


def _kill(pid: int) -> None:
    """SIGKILL, not SIGTERM: its store is about to be removed, so there is nothing to shut down
    cleanly, and a server that hangs cannot ignore it."""
    if pid > 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _remove(directory: str) -> None:
    deadline = time.monotonic() + _REMOVE_FOR
    while os.path.lexists(directory) and time.monotonic() < deadline:
        shutil.rmtree(directory, ignore_errors=True)
        if os.path.lexists(directory):
            time.sleep(0.05)


def main(directory: str) -> None:
    """Wait for the holder to close the pipe; then end what it left."""
    _kill(_guarded_pid())
    _remove(directory)


if __name__ == "__main__":
    main(sys.argv[1])
