from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.session import Session
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str,
    *,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/sessions/{session_id}/reject".format(
            session_id=quote(str(session_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | Session | None:
    if response.status_code == 200:
        response_200 = Session.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | Session]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Problem | Session]:
    """Reject (cancel) a session.

     The session's status becomes `FAILED`; its unanswered messages become `CANCELLED` and a
    `session.status` event is published (see `asyncapi.yaml`). Rejecting a `FAILED` session
    again returns it unchanged; rejecting an `EXPIRED` session is a `409`.

    Args:
        session_id (str): An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`,
            starting with a
            letter or digit.
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Session]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        idempotency_key=idempotency_key,
        traceparent=traceparent,
        tracestate=tracestate,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Problem | Session | None:
    """Reject (cancel) a session.

     The session's status becomes `FAILED`; its unanswered messages become `CANCELLED` and a
    `session.status` event is published (see `asyncapi.yaml`). Rejecting a `FAILED` session
    again returns it unchanged; rejecting an `EXPIRED` session is a `409`.

    Args:
        session_id (str): An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`,
            starting with a
            letter or digit.
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Session
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        idempotency_key=idempotency_key,
        traceparent=traceparent,
        tracestate=tracestate,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Problem | Session]:
    """Reject (cancel) a session.

     The session's status becomes `FAILED`; its unanswered messages become `CANCELLED` and a
    `session.status` event is published (see `asyncapi.yaml`). Rejecting a `FAILED` session
    again returns it unchanged; rejecting an `EXPIRED` session is a `409`.

    Args:
        session_id (str): An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`,
            starting with a
            letter or digit.
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Session]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        idempotency_key=idempotency_key,
        traceparent=traceparent,
        tracestate=tracestate,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Problem | Session | None:
    """Reject (cancel) a session.

     The session's status becomes `FAILED`; its unanswered messages become `CANCELLED` and a
    `session.status` event is published (see `asyncapi.yaml`). Rejecting a `FAILED` session
    again returns it unchanged; rejecting an `EXPIRED` session is a `409`.

    Args:
        session_id (str): An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`,
            starting with a
            letter or digit.
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Session
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            idempotency_key=idempotency_key,
            traceparent=traceparent,
            tracestate=tracestate,
        )
    ).parsed
