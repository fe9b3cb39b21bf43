from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.session_page import SessionPage
from ...models.session_status import SessionStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    status: SessionStatus | Unset = UNSET,
    subject_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    params: dict[str, Any] = {}

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status

    params["status"] = json_status

    params["subject_id"] = subject_id

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/sessions",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SessionPage | None:
    if response.status_code == 200:
        response_200 = SessionPage.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | SessionPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: SessionStatus | Unset = UNSET,
    subject_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Problem | SessionPage]:
    """List sessions, newest last, one page at a time.

    Args:
        status (SessionStatus | Unset): `ACTIVE` accepts messages; `FAILED` (rejected) and
            `EXPIRED` are terminal.
        subject_id (str | Unset): The subject a response is published for, substituted into the
            response subject template
            (`asyncapi.yaml`). Legal values are one or more dot-separated tokens, each made of
            `A-Z a-z 0-9 _ : @ + = ~ -`: no whitespace, no `*` or `>` wildcards, no empty tokens.
            At most 128 characters.
        limit (int | Unset):
        cursor (str | Unset): An opaque cursor returned as `next_cursor`; do not build or
            interpret it.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SessionPage]
    """

    kwargs = _get_kwargs(
        status=status,
        subject_id=subject_id,
        limit=limit,
        cursor=cursor,
        traceparent=traceparent,
        tracestate=tracestate,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    status: SessionStatus | Unset = UNSET,
    subject_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Problem | SessionPage | None:
    """List sessions, newest last, one page at a time.

    Args:
        status (SessionStatus | Unset): `ACTIVE` accepts messages; `FAILED` (rejected) and
            `EXPIRED` are terminal.
        subject_id (str | Unset): The subject a response is published for, substituted into the
            response subject template
            (`asyncapi.yaml`). Legal values are one or more dot-separated tokens, each made of
            `A-Z a-z 0-9 _ : @ + = ~ -`: no whitespace, no `*` or `>` wildcards, no empty tokens.
            At most 128 characters.
        limit (int | Unset):
        cursor (str | Unset): An opaque cursor returned as `next_cursor`; do not build or
            interpret it.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SessionPage
    """

    return sync_detailed(
        client=client,
        status=status,
        subject_id=subject_id,
        limit=limit,
        cursor=cursor,
        traceparent=traceparent,
        tracestate=tracestate,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: SessionStatus | Unset = UNSET,
    subject_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Problem | SessionPage]:
    """List sessions, newest last, one page at a time.

    Args:
        status (SessionStatus | Unset): `ACTIVE` accepts messages; `FAILED` (rejected) and
            `EXPIRED` are terminal.
        subject_id (str | Unset): The subject a response is published for, substituted into the
            response subject template
            (`asyncapi.yaml`). Legal values are one or more dot-separated tokens, each made of
            `A-Z a-z 0-9 _ : @ + = ~ -`: no whitespace, no `*` or `>` wildcards, no empty tokens.
            At most 128 characters.
        limit (int | Unset):
        cursor (str | Unset): An opaque cursor returned as `next_cursor`; do not build or
            interpret it.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SessionPage]
    """

    kwargs = _get_kwargs(
        status=status,
        subject_id=subject_id,
        limit=limit,
        cursor=cursor,
        traceparent=traceparent,
        tracestate=tracestate,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    status: SessionStatus | Unset = UNSET,
    subject_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Problem | SessionPage | None:
    """List sessions, newest last, one page at a time.

    Args:
        status (SessionStatus | Unset): `ACTIVE` accepts messages; `FAILED` (rejected) and
            `EXPIRED` are terminal.
        subject_id (str | Unset): The subject a response is published for, substituted into the
            response subject template
            (`asyncapi.yaml`). Legal values are one or more dot-separated tokens, each made of
            `A-Z a-z 0-9 _ : @ + = ~ -`: no whitespace, no `*` or `>` wildcards, no empty tokens.
            At most 128 characters.
        limit (int | Unset):
        cursor (str | Unset): An opaque cursor returned as `next_cursor`; do not build or
            interpret it.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SessionPage
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            subject_id=subject_id,
            limit=limit,
            cursor=cursor,
            traceparent=traceparent,
            tracestate=tracestate,
        )
    ).parsed
