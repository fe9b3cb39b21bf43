"""The command line of ``session-client``: subcommands, options and their argument types."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any, NoReturn

from .. import __version__
from ..config import API_TOKEN_ENV, API_URL_ENV, NATS_URL_ENV
from . import commands
from .exit_codes import ExitCode, exit_codes_help
from .output import PROG

__all__ = ["build_parser", "json_object", "json_object_or_file", "parse_args"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit with 2."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error in one line (argparse would add the whole usage text)."""
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_MESSAGE_ID_HELP = (
    "name the message (default: a new unique id); the same id and arguments again send nothing new"
)
_SESSION_ID_HELP = "the session's id"
#: The help of the positional arguments the commands share.
_POSITIONAL_HELP = {
    "session_id": _SESSION_ID_HELP,
    "channel_id": "the communication channel that reaches the human (e.g. a chat)",
    "message": "the text the human reads",
    "subject_id": "the subject whose NATS subject the answer is published on",
    "message_id": "the message's id (from send, or the --message-id it was sent with)",
}


def _add_positionals(parser: argparse.ArgumentParser, *names: str) -> None:
    for name in names:
        parser.add_argument(name, help=_POSITIONAL_HELP[name])


def json_object(text: str) -> dict[str, Any]:
    """An argument type: a JSON object given as text."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def json_object_or_file(text: str) -> dict[str, Any]:
    """An argument type: a JSON object given as text (starting with ``{``) or as a file path."""
    if text.lstrip().startswith("{"):
        return json_object(text)
    try:
        with open(text, encoding="utf-8") as file:
            return json_object(file.read())
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text!r}: {exc.strerror}") from exc


def _add_schema_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--response-schema",
        type=json_object_or_file,
        metavar="FILE|JSON",
        help="a JSON Schema the answer must match (a file, or the JSON itself)",
    )


def _token_file(path: str) -> str:
    """An argument type: the API token read from a file (never from the command line, which
    other users of the machine can see)."""
    try:
        with open(path, encoding="utf-8") as file:
            token = file.read().strip()
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read the token file: {exc.strerror}") from exc
    if not token:
        raise argparse.ArgumentTypeError(f"the token file {path!r} is empty")
    return token


def _seconds(text: str) -> int:
    """An argument type: a whole number of seconds."""
    try:
        return int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from exc


#: The connection options: the same flags before the command (dest prefixed with
#: ``_BEFORE``) and after it; :func:`parse_args` merges them.
_CONNECTION_DESTS = ("api_url", "nats_url", "api_token", "verbose")
_BEFORE = "before_command_"


def _add_connection_options(parser: argparse.ArgumentParser, dest_prefix: str = "") -> None:
    """The options every client command shares; flags win over the environment."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--api-url",
        metavar="URL",
        dest=f"{dest_prefix}api_url",
        help=f"REST API base URL (default: ${API_URL_ENV})",
    )
    group.add_argument(
        "--nats-url",
        metavar="URLS",
        dest=f"{dest_prefix}nats_url",
        help=f"NATS server URLs, comma-separated (default: ${NATS_URL_ENV} or "
        "nats://127.0.0.1:4222)",
    )
    group.add_argument(
        "--api-token-file",
        metavar="PATH",
        type=_token_file,
        dest=f"{dest_prefix}api_token",
        help=f"read the bearer token from this file (default: ${API_TOKEN_ENV})",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        dest=f"{dest_prefix}verbose",
        help="also show the library's log on stderr (retries, NATS errors; expire: print the "
        "result)",
    )


def _connection_options() -> argparse.ArgumentParser:
    """A parent parser with the connection options, for each client command."""
    options = argparse.ArgumentParser(add_help=False)
    _add_connection_options(options)
    return options


def _add_wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up waiting after this long (default: 60)",
    )


def _escalation(text: str) -> tuple[float, str]:
    """An argument type: ``SECONDS:CHANNEL``."""
    seconds, _, channel = text.partition(":")
    try:
        return float(seconds), channel or _no_channel(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not SECONDS:CHANNEL: {text!r}") from exc


def _no_channel(text: str) -> str:
    raise argparse.ArgumentTypeError(f"no channel after the colon: {text!r}")


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    """``send-and-wait``'s waiting policies (delays from the first message's creation)."""
    parser.add_argument(
        "--remind",
        type=float,
        action="append",
        default=[],
        metavar="SECONDS",
        help="unanswered this long after the first message, send the question again as a "
        "reminder (repeatable)",
    )
    parser.add_argument(
        "--escalate",
        type=_escalation,
        action="append",
        default=[],
        metavar="SECONDS:CHANNEL",
        help="unanswered this long after the first message, also send it to CHANNEL (repeatable)",
    )
    parser.add_argument(
        "--on-timeout",
        type=json_object,
        metavar="JSON",
        help='at the timeout, print this answer marked "defaulted": true and exit 0',
    )


def _add_client_commands(commands_: Any, common: argparse.ArgumentParser) -> None:
    def add(name: str, handler: commands.Handler, help_: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands_.add_parser(
            name, parents=[common], help=help_, description=help_
        )
        parser.set_defaults(handler=handler)
        return parser

    create = add("create", commands.create, "create a session (or return the identical one)")
    create.add_argument("session_id", help=_SESSION_ID_HELP)
    create.add_argument("--message-data", type=json_object, metavar="JSON")
    create.add_argument(
        "--template", type=json_object, metavar="JSON", help="JSON Schema for message data"
    )
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expiry-date", type=int, metavar="UNIX_TIME")
    expiry.add_argument(
        "--expires-in",
        type=_seconds,
        metavar="SECONDS",
        help="expire this long after creation (run again, it returns the session it created)",
    )
    create.add_argument("--subject-id", help="default subject for answers")

    get = add("get", commands.get, "show a session, or one of its messages")
    get.add_argument("session_id", help=_SESSION_ID_HELP)
    get.add_argument("--message-id", help="show this message (with its response, once answered)")

    list_ = add("list", commands.list_, "list sessions, oldest first")
    list_.add_argument("--status", choices=("ACTIVE", "FAILED", "EXPIRED"))
    list_.add_argument("--subject-id")
    list_.add_argument("--limit", type=int, default=100, help="page size (default: 100)")
    list_.add_argument("--cursor", help="next_cursor of the previous page")
    list_.add_argument("--all", action="store_true", help="follow next_cursor to the last page")

    send = add("send", commands.send, "send a message to the human; print its record")
    _add_positionals(send, "session_id", "channel_id", "message")
    send.add_argument("--subject-id", help="publish the answer for this subject")
    send.add_argument("--message-id", help=_MESSAGE_ID_HELP)
    _add_schema_option(send)

    wait = add("wait", commands.wait, "wait for the answer to a message already sent")
    _add_positionals(wait, "session_id", "subject_id")
    wait.add_argument("--message-id", help="the message to wait for (default: any)")
    _add_schema_option(wait)
    _add_wait_options(wait)

    send_and_wait = add(
        "send-and-wait", commands.send_and_wait, "send a message and wait for the answer"
    )
    _add_positionals(send_and_wait, "session_id", "channel_id", "message", "subject_id")
    send_and_wait.add_argument("--message-id", help=_MESSAGE_ID_HELP)
    _add_schema_option(send_and_wait)
    _add_wait_options(send_and_wait)
    _add_policy_options(send_and_wait)

    quorum = add(
        "quorum",
        commands.quorum,
        "send a message to several channels and wait for QUORUM answers; print them and the "
        "ids of the messages left open",
    )
    _add_positionals(quorum, "session_id", "message", "subject_id")
    quorum.add_argument(
        "--channel",
        dest="channel_ids",
        action="append",
        required=True,
        metavar="CHANNEL",
        help="a channel to ask (repeatable; one message each)",
    )
    quorum.add_argument(
        "--quorum", type=int, required=True, metavar="N", help="how many answers are needed"
    )
    quorum.add_argument("--message-id", help=_MESSAGE_ID_HELP)
    _add_wait_options(quorum)

    respond = add("respond", commands.respond, "submit a human's answer to a message")
    _add_positionals(respond, "session_id", "message_id")
    respond.add_argument(
        "response",
        type=json_object,
        metavar="RESPONSE_JSON",
        help="the human's answer, a JSON object (checked against the message's response schema)",
    )
    respond.add_argument("--responded-by", metavar="WHO", help="who answered (kept and published)")

    messages = add("messages", commands.messages, "print a session's record: every message")
    messages.add_argument("session_id", help=_SESSION_ID_HELP)

    reject = add("reject", commands.reject, "reject a session (status FAILED)")
    reject.add_argument("session_id", help=_SESSION_ID_HELP)

    add("expire", commands.expire, "expire sessions past their expiry date (for cron)")

    consume = add(
        "consume",
        commands.consume,
        "print the answers of a subject as one member of a consumer group, one JSON line each, "
        "acknowledged once printed",
    )
    consume.add_argument("subject_id", help=_POSITIONAL_HELP["subject_id"])
    consume.add_argument(
        "--group", required=True, help="the consumer group: its members share the answers"
    )
    consume.add_argument(
        "--ack-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="redeliver what a member did not acknowledge after this long (default: 30)",
    )
    consume.add_argument(
        "--max-in-flight",
        type=int,
        default=32,
        metavar="N",
        help="the most answers this member holds unacknowledged (default: 32)",
    )
    consume.add_argument(
        "--count", type=int, metavar="N", help="stop after N answers (default: run until stopped)"
    )


def _add_dev_command(commands_: Any) -> None:
    try:
        # The local stack lives in the optional 'testing' extra.
        from ..testing.__main__ import add_serve_arguments
    except ImportError as exc:
        from ..testing import missing_extra

        dev = commands_.add_parser("dev", help="run the local stack (needs the testing extra)")
        dev.set_defaults(dev_unavailable=missing_extra(exc))
        return
    dev = commands_.add_parser(
        "dev",
        help="run the local stack: API, NATS and a simulated human",
        description="Run the local stack until Ctrl-C; prints one JSON line with its URLs.",
    )
    add_serve_arguments(dev)


def build_parser() -> argparse.ArgumentParser:
    """The ``session-client`` parser; each client command sets ``handler``. The connection
    options go before or after the command; :func:`parse_args` merges them."""
    parser = _Parser(
        prog=PROG,
        description="Put a human in the loop from the shell. JSON goes to stdout; errors are "
        "one line on stderr. The connection options go before or after a client command.",
        epilog=exit_codes_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}", help="show the version"
    )
    _add_connection_options(parser, dest_prefix=_BEFORE)
    commands_ = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_client_commands(commands_, _connection_options())
    _add_dev_command(commands_)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; a connection option before the command counts as if after it (where
    it wins). ``dev`` takes none: its stack has options of its own."""
    parser = build_parser()
    options = parser.parse_args(argv)
    given_before = {name for name in _CONNECTION_DESTS if getattr(options, _BEFORE + name)}
    if given_before and options.command == "dev":
        parser.error("the connection options belong to the client commands, not to dev")
    for name in _CONNECTION_DESTS:
        before = getattr(options, _BEFORE + name)
        delattr(options, _BEFORE + name)
        if options.command != "dev" and not getattr(options, name):
            setattr(options, name, before)
    return options
