"""The local stack: embedded nats-server + reference session server + simulated human."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

from ..subjects import DEFAULT_SUBJECT_TEMPLATE
from .faults import Faults
from .human import SimulatedHuman
from .nats_server import NatsServer
from .server import ReferenceServer

__all__ = ["LocalStack"]


class LocalStack:
    """Everything the library talks to, on loopback, for demos and tests.

    >>> with LocalStack() as stack:            # doctest: +SKIP
    ...     client = SessionClient(stack.api_url, [stack.nats_url])
    ...     stack.human.answer_next({"approved": False})

    Without ``nats_url`` an embedded ``nats-server`` (JetStream on, store in a temp dir) is
    started on ``nats_port`` (default: a free port); with it, that server is used. Unless
    ``stream=False``, a JetStream stream covering the response subjects is created, so answers
    go through JetStream.
    ``ssl_certfile``/``ssl_keyfile`` serve the API over HTTPS; ``faults`` makes it fail on
    purpose (:class:`~session_client.testing.faults.Faults`); ``tracer_provider`` records the
    reference server's spans (default: the global OpenTelemetry one, if any);
    ``per_session_subjects=False`` publishes answers on the subject-wide subject, as servers of
    contract 1.0 did. The dev inbox page (:attr:`inbox_url`) lets a developer answer as the
    human; it answers loopback clients only unless ``inbox_remote=True``. The API answers
    requests naming a loopback host or ``host`` in ``Host``, plus ``allowed_hosts`` (``"*"``:
    any), and no web page of another origin can change its state.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        nats_url: str | None = None,
        nats_port: int | None = None,
        human: SimulatedHuman | None = None,
        auto_respond: dict[str, Any] | None = None,
        respond_delay: float = 0.0,
        stream: bool = True,
        api_token: str | None = None,
        db_path: str = ":memory:",
        subject_template: str = DEFAULT_SUBJECT_TEMPLATE,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        faults: Faults | None = None,
        inbox_remote: bool = False,
        tracer_provider: Any = None,
        per_session_subjects: bool = True,
        allowed_hosts: Sequence[str] = (),
    ) -> None:
        self.human = human or SimulatedHuman(auto_respond, delay=respond_delay)
        self.nats_server = NatsServer(host=host, port=nats_port) if nats_url is None else None
        self._nats_url = nats_url
        self._server_options: dict[str, Any] = {
            "host": host,
            "port": port,
            "db_path": db_path,
            "api_token": api_token,
            "subject_template": subject_template,
            "create_stream": stream,
            "ssl_certfile": ssl_certfile,
            "ssl_keyfile": ssl_keyfile,
            "faults": faults,
            "inbox_remote": inbox_remote,
            "tracer_provider": tracer_provider,
            "per_session_subjects": per_session_subjects,
            "allowed_hosts": allowed_hosts,
        }
        self.server: ReferenceServer | None = None

    @property
    def nats_url(self) -> str:
        """The URL of the NATS server in use."""
        if self.nats_server is not None:
            return self.nats_server.url
        assert self._nats_url is not None
        return self._nats_url

    @property
    def api_token(self) -> str | None:
        """The bearer token the reference server requires, if any."""
        token: str | None = self._server_options["api_token"]
        return token

    @property
    def api_url(self) -> str:
        """The base URL of the running reference server."""
        return self._running().url

    @property
    def inbox_url(self) -> str:
        """The URL of the running dev inbox page."""
        return self._running().inbox_url

    def _running(self) -> ReferenceServer:
        if self.server is None:
            raise RuntimeError("the local stack is not started")
        return self.server

    def start(self) -> LocalStack:
        """Start NATS (if embedded), then the reference server."""
        if self.nats_server is not None:
            self.nats_server.start()
        try:
            self.server = ReferenceServer(
                nats_url=self.nats_url, human=self.human, **self._server_options
            ).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything this stack started."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.nats_server is not None:
            self.nats_server.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
