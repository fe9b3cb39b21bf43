"""A process that holds a ``LocalStack`` and dies by SIGKILL, and what it leaves behind
(issue 26, item 8): its nats-server and the server's temporary directory must end with it.

``python -m tests.stack_holder [--restart]`` starts a stack (and restarts its nats-server, as
the fault tests do), prints one JSON line (the nats-server's pid and its directory) and blocks
until its standard input closes. :func:`kill_holder` runs it,
SIGKILLs it and waits for what it left to go.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from session_client.testing import LocalStack

__all__ = ["Leftovers", "kill_holder", "processes_naming"]

ROOT = Path(__file__).resolve().parents[1]


def processes_naming(text: str) -> list[int]:
    """The live (not zombie) processes whose command line contains ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # ended meanwhile
            continue
        if text.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


@dataclass
class Leftovers:
    """What a SIGKILLed holder left: the processes naming the stack's directory and whether
    the directory exists, once they were gone or at the deadline; and how long that took."""

    processes: list[int]
    directory_left: bool
    seconds: float

    @property
    def clean(self) -> bool:
        """Nothing left behind."""
        return not self.processes and not self.directory_left


def kill_holder(*, restart: bool = False, bound: float = 10.0) -> Leftovers:
    """Start a holder (``restart``: one that restarted its nats-server), SIGKILL it once its
    stack runs, and wait up to ``bound`` seconds for
    every process naming its directory (nats-server, and whatever cleans up) to end and the
    directory to go. Whatever is still there then is killed by its pid and removed."""
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.stack_holder", *(["--restart"] if restart else [])],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    try:
        started = json.loads(holder.stdout.readline())
        directory = started["directory"]
        assert started["nats_pid"] in processes_naming(directory)
    finally:
        holder.kill()  # SIGKILL: no handler, no atexit, no finally runs in the holder
        holder.wait()
    killed = time.monotonic()
    deadline = killed + bound
    while processes_naming(directory) or os.path.lexists(directory):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    left = Leftovers(
        processes_naming(directory), os.path.lexists(directory), time.monotonic() - killed
    )
    for pid in left.processes:  # the test's own cleanup, by pid
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(directory, ignore_errors=True)
    return left


def main() -> None:
    """Hold a stack until standard input closes (or a SIGKILL comes)."""
    stack = LocalStack().start()
    assert stack.nats_server is not None
    if "--restart" in sys.argv:
        stack.nats_server.restart()
    assert stack.nats_server.pid is not None
    directory = os.path.dirname(stack.nats_server.store_dir)
    print(json.dumps({"nats_pid": stack.nats_server.pid, "directory": directory}), flush=True)
    sys.stdin.read()
    stack.stop()


if __name__ == "__main__":
    main()
