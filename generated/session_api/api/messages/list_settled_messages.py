import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.settled_message_page import SettledMessagePage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    subject_id: str,
    settled_since: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    params: dict[str, Any] = {}

    params["subject_id"] = subject_id

    json_settled_since: str | Unset = UNSET
    if not isinstance(settled_since, Unset):
        json_settled_since = settled_since.isoformat()
    params["settled_since"] = json_settled_since

    params["cursor"] = cursor

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/messages/settled",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SettledMessagePage | None:
    if response.status_code == 200:
        response_200 = SettledMessagePage.from_dict(response.json())

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
) -> Response[Problem | SettledMessagePage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    subject_id: str,
    settled_since: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Problem | SettledMessagePage]:
    """The messages of one subject that were answered or closed, in the order they were.

     A change feed for recovery: every message whose answer is published for `subject_id`
    and that became `ANSWERED`, `CANCELLED` or `EXPIRED`, in the order it did, each once.
    A client that may have missed NATS messages asks once per subject, not once per waiting
    message: the first time with `settled_since` (a time a little before it may have started
    missing messages), later with the `next_cursor` of the previous page, which is always
    returned and resumes right after this page (`has_more` tells whether more are ready
    now). `cursor` wins over `settled_since`.

    Args:
        subject_id (str): The subject a response is published for, substituted into the response
            subject template
            (`asyncapi.yaml`). Legal values are one or more dot-separated tokens, each made of
            `A-Z a-z 0-9 _ : @ + = ~ -`: no whitespace, no `*` or `>` wildcards, no empty tokens.
            At most 128 characters.
        settled_since (datetime.datetime | Unset):
        cursor (str | Unset): An opaque cursor returned as `next_cursor`; do not build or
            interpret it.
        limit (int | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SettledMessagePage]
    """

    kwargs = _get_kwargs(
        subject_id=subject_id,
        settled_since=settled_since,
        cursor=cursor,
        limit=limit,
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
    subject_id: str,
    settled_since: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Problem | SettledMessagePage | None:
    """The messages of one subject that were answered or closed, in the order they were.

     A change feed for recovery: every message whose answer is published for `subject_id`
    and that became `ANSWERED`, `CANCELLED` or `EXPIRED`, in the order it did, each once.
    A client that may have missed NATS messages asks once per subject, not once per waiting
    message: the first time with `settled_since` (a time a little before it may have started
    missing messages), later with the `next_cursor` of the previous page, which is always
    returned and resumes right after this page (`has_more` tells whether more are ready
    now). `cursor` wins over `settled_since`.

    Args:
        subject_id (str): The subject a response is published for, substituted into the response
            subject template
            (`asyncapi.yaml`). Legal values are one or more dot-separated tokens, each made of
            `A-Z a-z 0-9 _ : @ + = ~ -`: no whitespace, no `*` or `>` wildcards, no empty tokens.
            At most 128 characters.
        settled_since (datetime.datetime | Unset):
        cursor (str | Unset): An opaque cursor returned as `next_cursor`; do not build or
            interpret it.
        limit (int | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SettledMessagePage
    """

    return sync_detailed(
        client=client,
        subject_id=subject_id,
        settled_since=settled_since,
        cursor=cursor,
        limit=limit,
        traceparent=traceparent,
        tracestate=tracestate,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    subject_id: str,
    settled_since: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Problem | SettledMessagePage]:
    """The messages of one subject that were answered or closed, in the order they were.

     A change feed for recovery: every message whose answer is published for `subject_id`
    and that became `ANSWERED`, `CANCELLED` or `EXPIRED`, in the order it did, each once.
    A client that may have missed NATS messages asks once per subject, not once per waiting
    message: the first time with `settled_since` (a time a little before it may have started
    missing messages), later with the `next_cursor` of the previous page, which is always
    returned and resumes right after this page (`has_more` tells whether more are ready
    now). `cursor` wins over `settled_since`.

    Args:
        subject_id (str): The subject a response is published for, substituted into the response
            subject template
            (`asyncapi.yaml`). Legal values are one or more dot-separated tokens, each made of
            `A-Z a-z 0-9 _ : @ + = ~ -`: no whitespace, no `*` or `>` wildcards, no empty tokens.
            At most 128 characters.
        settled_since (datetime.datetime | Unset):
        cursor (str | Unset): An opaque cursor returned as `next_cursor`; do not build or
            interpret it.
        limit (int | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SettledMessagePage]
    """

    kwargs = _get_kwargs(
        subject_id=subject_id,
        settled_since=settled_since,
        cursor=cursor,
        limit=limit,
        traceparent=traceparent,
        tracestate=tracestate,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    subject_id: str,
    settled_since: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Problem | SettledMessagePage | None:
    """The messages of one subject that were answered or closed, in the order they were.

     A change feed for recovery: every message whose answer is published for `subject_id`
    and that became `ANSWERED`, `CANCELLED` or `EXPIRED`, in the order it did, each once.
    A client that may have missed NATS messages asks once per subject, not once per waiting
    message: the first time with `settled_since` (a time a little before it may have started
    missing messages), later with the `next_cursor` of the previous page, which is always
    returned and resumes right after this page (`has_more` tells whether more are ready
    now). `cursor` wins over `settled_since`.

    Args:
        subject_id (str): The subject a response is published for, substituted into the response
            subject template
            (`asyncapi.yaml`). Legal values are one or more dot-separated tokens, each made of
            `A-Z a-z 0-9 _ : @ + = ~ -`: no whitespace, no `*` or `>` wildcards, no empty tokens.
            At most 128 characters.
        settled_since (datetime.datetime | Unset):
        cursor (str | Unset): An opaque cursor returned as `next_cursor`; do not build or
            interpret it.
        limit (int | Unset):
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SettledMessagePage
    """

    return (
        await asyncio_detailed(
            client=client,
            subject_id=subject_id,
            settled_since=settled_since,
            cursor=cursor,
            limit=limit,
            traceparent=traceparent,
            tracestate=tracestate,
        )
    ).parsed
