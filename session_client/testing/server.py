"""Runs the reference session server (uvicorn) on its own event-loop thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import uvicorn

from ..subjects import DEFAULT_SUBJECT_TEMPLATE
from ._tracing import ServerTracing
from .app import create_app
from .faults import FaultInjectionMiddleware, Faults
from .human import SimulatedHuman
from .inbox import INBOX_PATH
from .publisher import EventPublisher
from .service import SessionService
from .store import SessionStore

__all__ = ["ReferenceServer"]


class ReferenceServer:
    """The reference implementation of ``openapi.yaml`` over real HTTP on loopback.

    It runs in a background thread so that tests, the demo and the CLI can use it from
    synchronous code; ``port=0`` picks a free port (see :attr:`url`). ``ssl_certfile`` and
    ``ssl_keyfile`` (PEM) serve HTTPS; ``faults`` injects failures (see :class:`Faults`);
    ``tracer_provider`` records its spans (default: the global OpenTelemetry one, if any);
    ``per_session_subjects=False`` publishes like a server of contract 1.0 (see
    :class:`EventPublisher`). The dev inbox (:attr:`inbox_url`) answers loopback clients only,
    unless ``inbox_remote``. Requests must name a loopback host, ``host`` or one of
    ``allowed_hosts`` (``"*"``: any): a web page of a DNS name rebound to 127.0.0.1 gets 421.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        nats_url: str | None = None,
        human: SimulatedHuman | None = None,
        db_path: str = ":memory:",
        api_token: str | None = None,
        subject_template: str = DEFAULT_SUBJECT_TEMPLATE,
        create_stream: bool = True,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        faults: Faults | None = None,
        inbox_remote: bool = False,
        tracer_provider: Any = None,
        per_session_subjects: bool = True,
        allowed_hosts: Sequence[str] = (),
    ) -> None:
        self.host = host
        tracing = ServerTracing(tracer_provider)
        self.scheme = "https" if ssl_certfile else "http"
        self.store = SessionStore(db_path)
        publisher = (
            EventPublisher(
                nats_url,
                self.store,
                subject_template=subject_template,
                tracing=tracing,
                per_session_subjects=per_session_subjects,
            )
            if nats_url
            else None
        )
        self.service = SessionService(self.store, publisher, human)
        self.app = create_app(
            self.service,
            api_token=api_token,
            inbox_remote=inbox_remote,
            tracing=tracing,
            allowed_hosts=[host, *allowed_hosts],  # its own address, as in self.url
        )
        self.faults = FaultInjectionMiddleware(self.app, faults) if faults is not None else None
        self._create_stream = create_stream
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit TCP_NODELAY: without it, h11 writes the response head and
        # body separately and Nagle + delayed ACK stall every keep-alive request by 40 ms.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.faults or self.app,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The base URL of the API, e.g. ``http://127.0.0.1:8000``."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def inbox_url(self) -> str:
        """The URL of the dev inbox page, where a developer answers as the human."""
        return self.url + INBOX_PATH

    def start(self, timeout: float = 15.0) -> ReferenceServer:
        """Start serving; return once the server accepts requests."""
        self._thread = threading.Thread(
            target=self._run, name="session-reference-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise TimeoutError("reference server did not start")
        if self._error is not None:
            self.stop()
            raise RuntimeError("reference server failed to start") from self._error
        return self

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        publisher = self.service.publisher
        try:
            if publisher is not None:
                await publisher.connect()
                if self._create_stream:
                    await publisher.ensure_stream()
            serving = asyncio.create_task(self._uvicorn.serve(sockets=[self._socket]))
            # uvicorn offers no readiness event: poll its flag.
            while not self._uvicorn.started and not serving.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise
        self._ready.set()
        try:
            await serving
        finally:
            await self.service.aclose()
            if publisher is not None:
                await publisher.close()

    def stop(self) -> None:
        """Stop serving and close the store."""
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None
        self._socket.close()
        self.store.close()

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
