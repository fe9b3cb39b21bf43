from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.expire_result import ExpireResult
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
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
        "url": "/sessions/expire",
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ExpireResult | Problem | None:
    if response.status_code == 200:
        response_200 = ExpireResult.from_dict(response.json())

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
) -> Response[ExpireResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[ExpireResult | Problem]:
    """Mark every open session past its expiry date as EXPIRED.

     Every `ACTIVE` session whose `expiry_date` is at or before the current time becomes
    `EXPIRED`, its unanswered messages become `EXPIRED`, and a `session.status` event is
    published for it (see `asyncapi.yaml`).

    Args:
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ExpireResult | Problem]
    """

    kwargs = _get_kwargs(
        idempotency_key=idempotency_key,
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
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ExpireResult | Problem | None:
    """Mark every open session past its expiry date as EXPIRED.

     Every `ACTIVE` session whose `expiry_date` is at or before the current time becomes
    `EXPIRED`, its unanswered messages become `EXPIRED`, and a `session.status` event is
    published for it (see `asyncapi.yaml`).

    Args:
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ExpireResult | Problem
    """

    return sync_detailed(
        client=client,
        idempotency_key=idempotency_key,
        traceparent=traceparent,
        tracestate=tracestate,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[ExpireResult | Problem]:
    """Mark every open session past its expiry date as EXPIRED.

     Every `ACTIVE` session whose `expiry_date` is at or before the current time becomes
    `EXPIRED`, its unanswered messages become `EXPIRED`, and a `session.status` event is
    published for it (see `asyncapi.yaml`).

    Args:
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ExpireResult | Problem]
    """

    kwargs = _get_kwargs(
        idempotency_key=idempotency_key,
        traceparent=traceparent,
        tracestate=tracestate,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ExpireResult | Problem | None:
    """Mark every open session past its expiry date as EXPIRED.

     Every `ACTIVE` session whose `expiry_date` is at or before the current time becomes
    `EXPIRED`, its unanswered messages become `EXPIRED`, and a `session.status` event is
    published for it (see `asyncapi.yaml`).

    Args:
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ExpireResult | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            idempotency_key=idempotency_key,
            traceparent=traceparent,
            tracestate=tracestate,
        )
    ).parsed
