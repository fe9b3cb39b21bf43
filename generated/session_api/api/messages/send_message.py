from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.message import Message
from ...models.problem import Problem
from ...models.send_message_request import SendMessageRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str,
    *,
    body: SendMessageRequest,
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
        "url": "/sessions/{session_id}/messages".format(
            session_id=quote(str(session_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Message | Problem | None:
    if response.status_code == 200:
        response_200 = Message.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = Message.from_dict(response.json())

        return response_202

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Message | Problem]:
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
    body: SendMessageRequest,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Message | Problem]:
    """Send a message to a human over a channel.

     Accepts the message for delivery on `channel_id`. The human's answer arrives later through
    `submitResponse`, and is published on NATS to the response subject of `subject_id` (the
    one given here, else the session's). Without either, the answer is only available through
    `getMessage`.

    **Client-chosen ids.** A client may name the message (`message_id`); it can then wait for
    the answer before the reply to this call arrives, and a process that crashed can send the
    same request again: the same `message_id` with the same body (`channel_id`, `message`,
    `subject_id`) returns the existing message with `200`, in whatever state it is now
    (possibly already `ANSWERED`), also when the session is no longer `ACTIVE`. The same
    `message_id` with a different body, or in another session, is a `409`. Without
    `message_id` the server makes one (`202`).

    Args:
        session_id (str): An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`,
            starting with a
            letter or digit.
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SendMessageRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Message | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
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
    body: SendMessageRequest,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Message | Problem | None:
    """Send a message to a human over a channel.

     Accepts the message for delivery on `channel_id`. The human's answer arrives later through
    `submitResponse`, and is published on NATS to the response subject of `subject_id` (the
    one given here, else the session's). Without either, the answer is only available through
    `getMessage`.

    **Client-chosen ids.** A client may name the message (`message_id`); it can then wait for
    the answer before the reply to this call arrives, and a process that crashed can send the
    same request again: the same `message_id` with the same body (`channel_id`, `message`,
    `subject_id`) returns the existing message with `200`, in whatever state it is now
    (possibly already `ANSWERED`), also when the session is no longer `ACTIVE`. The same
    `message_id` with a different body, or in another session, is a `409`. Without
    `message_id` the server makes one (`202`).

    Args:
        session_id (str): An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`,
            starting with a
            letter or digit.
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SendMessageRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Message | Problem
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        traceparent=traceparent,
        tracestate=tracestate,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: SendMessageRequest,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Response[Message | Problem]:
    """Send a message to a human over a channel.

     Accepts the message for delivery on `channel_id`. The human's answer arrives later through
    `submitResponse`, and is published on NATS to the response subject of `subject_id` (the
    one given here, else the session's). Without either, the answer is only available through
    `getMessage`.

    **Client-chosen ids.** A client may name the message (`message_id`); it can then wait for
    the answer before the reply to this call arrives, and a process that crashed can send the
    same request again: the same `message_id` with the same body (`channel_id`, `message`,
    `subject_id`) returns the existing message with `200`, in whatever state it is now
    (possibly already `ANSWERED`), also when the session is no longer `ACTIVE`. The same
    `message_id` with a different body, or in another session, is a `409`. Without
    `message_id` the server makes one (`202`).

    Args:
        session_id (str): An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`,
            starting with a
            letter or digit.
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SendMessageRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Message | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
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
    body: SendMessageRequest,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> Message | Problem | None:
    """Send a message to a human over a channel.

     Accepts the message for delivery on `channel_id`. The human's answer arrives later through
    `submitResponse`, and is published on NATS to the response subject of `subject_id` (the
    one given here, else the session's). Without either, the answer is only available through
    `getMessage`.

    **Client-chosen ids.** A client may name the message (`message_id`); it can then wait for
    the answer before the reply to this call arrives, and a process that crashed can send the
    same request again: the same `message_id` with the same body (`channel_id`, `message`,
    `subject_id`) returns the existing message with `200`, in whatever state it is now
    (possibly already `ANSWERED`), also when the session is no longer `ACTIVE`. The same
    `message_id` with a different body, or in another session, is a `409`. Without
    `message_id` the server makes one (`202`).

    Args:
        session_id (str): An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`,
            starting with a
            letter or digit.
        idempotency_key (str | Unset): Printable ASCII, 1 to 255 characters.
        traceparent (str | Unset):
        tracestate (str | Unset):
        body (SendMessageRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Message | Problem
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            traceparent=traceparent,
            tracestate=tracestate,
        )
    ).parsed
