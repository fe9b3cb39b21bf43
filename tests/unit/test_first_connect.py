"""When a first NATS connect gives up (``_nats.FirstConnect``, issue 26 item 1): at once where
retrying cannot help, after a few attempts per server otherwise, never at the caller's deadline;
with an error that names the servers without their credentials."""

from __future__ import annotations

import socket
import ssl

import nats.errors
import pytest

from session_client import NatsAuthenticationError, NatsUnavailableError
from session_client._wait._nats import FIRST_CONNECT_ATTEMPTS, FirstConnect

SERVERS = ["nats://s3cret@a.test:4222", "nats://user:pa55@b.test:4222"]


def attempts_until_given_up(first: FirstConnect, error: Exception) -> int:
    for attempt in range(1, 100):
        if first.failed(error) is not None:
            return attempt
    raise AssertionError("never gave up")


@pytest.mark.parametrize(
    "error",
    [
        nats.errors.Error("nats: 'Authorization Violation'"),  # what nats-py 2.9-2.16 raise
        nats.errors.AuthorizationError(),
        nats.errors.Error("nats: 'User Authentication Expired'"),
    ],
)
def test_refused_credentials_give_up_at_once_with_their_own_error(error: Exception) -> None:
    verdict = FirstConnect(SERVERS).failed(error)
    assert isinstance(verdict, NatsAuthenticationError)
    assert isinstance(verdict, NatsUnavailableError)  # caught where NATS errors are


def test_a_tls_failure_gives_up_at_once() -> None:
    verdict = FirstConnect(SERVERS).failed(ssl.SSLError("certificate verify failed"))
    assert type(verdict) is NatsUnavailableError


@pytest.mark.parametrize(
    "error",
    [ConnectionRefusedError(), socket.gaierror(socket.EAI_NONAME, "Name or service not known")],
)
def test_servers_that_refuse_or_do_not_resolve_give_up_once_each_was_tried(
    error: Exception,
) -> None:
    assert attempts_until_given_up(FirstConnect(SERVERS), error) == len(SERVERS)


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),  # a server that accepts and never greets, or is too busy to
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
        nats.errors.Error("nats: empty response from server when expecting INFO message"),
        nats.errors.Error("nats: 'Authentication Timeout'"),  # a slow client, not bad ones
    ],
)
def test_other_failures_get_a_few_attempts_per_server(error: Exception) -> None:
    given_up = attempts_until_given_up(FirstConnect(SERVERS), error)
    assert given_up == FIRST_CONNECT_ATTEMPTS * len(SERVERS)


@pytest.mark.parametrize(
    "error", [TimeoutError(), ConnectionRefusedError(), nats.errors.AuthorizationError()]
)
def test_the_error_names_every_server_without_credentials(error: Exception) -> None:
    first = FirstConnect(SERVERS)
    verdict = None
    while verdict is None:
        verdict = first.failed(error)
    text = str(verdict)
    assert "a.test:4222" in text and "b.test:4222" in text
    assert "s3cret" not in text and "pa55" not in text
