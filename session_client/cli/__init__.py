"""``session-client``: the command line of session_client_lib (also ``python -m session_client``).

Every operation of the client is a subcommand; ``dev`` runs the local stack. JSON goes to
stdout, errors are one line on stderr, and the exit code tells the outcome (:class:`ExitCode`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..async_client import AsyncSessionClient
from ..config import API_URL_ENV
from .exit_codes import REPORTED_ERRORS, ExitCode
from .output import error_line, print_json, show_library_logs
from .parser import parse_args
from .report import report

__all__ = ["ExitCode", "main"]


async def _run_client_command(options: argparse.Namespace, api_url: str) -> Any:
    nats_servers = options.nats_url.split(",") if options.nats_url else None
    async with AsyncSessionClient(api_url, nats_servers, api_key=options.api_token) as client:
        return await options.handler(client, options)


def _run(options: argparse.Namespace) -> int:
    if options.command == "dev":
        if getattr(options, "dev_unavailable", None):
            sys.stderr.write(error_line("error", options.dev_unavailable))
            return ExitCode.ERROR
        from ..testing.__main__ import run_stack

        return run_stack(options)
    api_url = options.api_url or os.environ.get(API_URL_ENV)
    if not api_url:
        sys.stderr.write(error_line("error", f"no API URL: pass --api-url or set {API_URL_ENV}"))
        return ExitCode.USAGE
    if options.verbose:
        show_library_logs(sys.stderr)
    try:
        result = asyncio.run(_run_client_command(options, api_url))
    except REPORTED_ERRORS as exc:
        line, code = report(exc, options.command, api_url)
        sys.stderr.write(line)
        return code
    if result is not None:
        print_json(result, sys.stdout)
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``session-client`` with ``argv`` (default: the process arguments); return the exit
    code."""
    try:
        return _run(parse_args(argv))
    except KeyboardInterrupt:
        # asyncio.run has already cancelled the command and closed the client.
        sys.stderr.write(error_line("interrupted", "stopped by Ctrl-C"))
        return ExitCode.INTERRUPTED
