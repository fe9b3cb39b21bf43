"""Forked children of a test: waited for within a bound, never left behind."""

from __future__ import annotations

import os
import signal
import time


def reap(pid: int, deadline: float) -> int | None:
    """Wait for child ``pid`` until ``deadline`` (``time.monotonic()``): its exit code, or
    ``None`` if it was still running then (it is killed and reaped)."""
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None
