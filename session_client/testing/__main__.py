"""``python -m session_client.testing serve``: run the local stack until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from ..cli.parser import json_object
from ..config import DEFAULT_NATS_URL
from . import missing_extra

#: The NATS port the clients use by default (4222).
DEFAULT_NATS_PORT = urlsplit(DEFAULT_NATS_URL).port or 4222

try:
    from .inbox import open_inbox
    from .nats_server import port_is_free
    from .stack import LocalStack
except ModuleNotFoundError as exc:
    if __name__ != "__main__":
        raise  # `session-client dev` reports it in its own words
    sys.exit(f"python -m session_client.testing: error: {missing_extra(exc)}")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``serve`` (shared with the ``session-client dev`` command)."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=0, help="HTTP port (default: a free one)")
    nats = parser.add_mutually_exclusive_group()
    nats.add_argument(
        "--nats-port",
        type=int,
        metavar="PORT",
        help=f"NATS port (default: {DEFAULT_NATS_PORT}, the clients' default, when it is free; "
        "else a free one, said on stderr)",
    )
    nats.add_argument("--nats-url", help="use this NATS server instead of starting one")
    parser.add_argument(
        "--auto-respond",
        type=json_object,
        metavar="JSON",
        help='the simulated human answers with this object (default: {"approved": true})',
    )
    parser.add_argument(
        "--respond-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="answer after this delay",
    )
    parser.add_argument("--silent", action="store_true", help="the simulated human never answers")
    parser.add_argument(
        "--inbox",
        action="store_true",
        help="be the human: the simulated one stays silent and the inbox page opens in a browser",
    )
    parser.add_argument(
        "--inbox-remote",
        action="store_true",
        help="serve the inbox page to other machines too (default: loopback clients only)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests naming this host (repeatable; '*': any); by default only"
        " loopback names and --host, so no web page can reach the API through DNS rebinding",
    )
    parser.add_argument("--no-stream", action="store_true", help="publish through core NATS only")
    parser.add_argument(
        "--subject-wide",
        action="store_true",
        help="publish on sessions.responses.{subject_id}, as servers of contract 1.0.0 did",
    )
    parser.add_argument("--api-token", help="require this bearer token")


def _nats_port(options: argparse.Namespace) -> int | None:
    """The port the embedded nats-server listens on (None: a free one), or SystemExit if
    ``--nats-port`` is taken. The clients' default port when free, so that code written
    against the default (``nats://127.0.0.1:4222``) runs as it is."""
    if options.nats_url is not None:
        return None
    if options.nats_port is not None:
        if not port_is_free(options.host, options.nats_port):
            sys.exit(f"error: NATS port {options.nats_port} is in use: choose another --nats-port")
        return int(options.nats_port)
    if port_is_free(options.host, DEFAULT_NATS_PORT):
        return DEFAULT_NATS_PORT
    print(
        f"NATS port {DEFAULT_NATS_PORT} is in use, so NATS listens on another port: point the "
        "clients at the nats_url below (ORG_NATS_URL, or --nats-port to choose one)",
        file=sys.stderr,
        flush=True,
    )
    return None


def _stack_log_handler() -> logging.Handler:
    """Where the stack's warnings and errors (a NATS publish that failed, a dead letter) show:
    stderr, beside the inbox's lines, so that ``dev`` shows what went wrong."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("stack: %(levelname)s %(message)s"))
    return handler


def run_stack(options: argparse.Namespace) -> int:
    """Start the stack, print one JSON line with its URLs (API, NATS, inbox page), and run
    until SIGINT/SIGTERM."""
    nats_port = _nats_port(options)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stack = LocalStack(
        host=options.host,
        port=options.port,
        nats_url=options.nats_url,
        nats_port=nats_port,
        auto_respond=options.auto_respond,
        respond_delay=options.respond_delay,
        stream=not options.no_stream,
        api_token=options.api_token,
        inbox_remote=options.inbox_remote,
        per_session_subjects=not options.subject_wide,
        allowed_hosts=options.allowed_host,
    )
    if options.silent or options.inbox:
        stack.human.stay_silent()
    with contextlib.ExitStack() as cleanup:
        log, handler = logging.getLogger(__package__), _stack_log_handler()
        log.addHandler(handler)
        cleanup.callback(log.removeHandler, handler)
        cleanup.enter_context(stack)
        urls = {"api_url": stack.api_url, "nats_url": stack.nats_url, "inbox_url": stack.inbox_url}
        print(json.dumps(urls), flush=True)
        if options.inbox:
            open_inbox(stack.inbox_url, lambda line: print(line, file=sys.stderr, flush=True))
        stop.wait()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m session_client.testing``."""
    parser = argparse.ArgumentParser(prog="python -m session_client.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    add_serve_arguments(commands.add_parser("serve", help="run the local stack"))
    return run_stack(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
