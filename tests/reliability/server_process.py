"""The reference server in a process of its own, so that a test can SIGKILL it and start it
again on the same port and store file.

``python -m tests.reliability.server_process DB PORT [--die-before-idempotency-record]``
prints ``ready`` once it serves; with the flag it SIGKILLs itself at the first Idempotency-Key
record, i.e. after the request's effect and before its record (a crash at the worst moment).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from session_client.testing import ReferenceServer

ROOT = Path(__file__).resolve().parents[2]


def _die(*_: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    """Serve until SIGTERM or SIGKILL."""
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("port", type=int)
    parser.add_argument("--die-before-idempotency-record", action="store_true")
    options = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ReferenceServer(db_path=options.db, port=options.port) as server:
        if options.die_before_idempotency_record:
            server.store.record_idempotent = _die  # type: ignore[method-assign]
        print("ready", flush=True)
        stop.wait()


@contextmanager
def server_process(db: Path, port: int, *flags: str, timeout: float = 20.0) -> Iterator[str]:
    """Run the server process until the block ends (or it dies); yields its base URL. It is
    stopped by its PID: SIGTERM, then SIGKILL if it has not ended within ``timeout``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.server_process", str(db), str(port), *flags],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the server process ended with {process.wait(timeout)}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
