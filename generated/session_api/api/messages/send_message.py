from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ...models.message import Message
from ...models.problem import Problem
from ...models.send_message_request import SendMessageRequest
from ...types import UNSET, ApiRequest, Unset, encode_json


def request(
    session_id: str,
    *,
    body: SendMessageRequest | Mapping[str, Any],
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
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

    **Typed answers.** `response_schema` (a JSON Schema, 2020-12) says what the answer must
    look like; it is stored with the message, shown to the human's channel and returned by
    `getMessage`. `submitResponse` refuses an answer that does not match it (`422`), so every
    published answer matches. A schema that is not a valid JSON Schema of an object is a
    `422` here.

    Returns the request, for ``parse`` to read the body of its response.
    """
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    path = "/sessions/{session_id}/messages".format(
        session_id=quote(str(session_id), safe=""),
    )
    headers["Content-Type"] = "application/json"
    content = encode_json(body if isinstance(body, Mapping) else body.to_dict())
    return ApiRequest("POST", path, headers, content)


def parse(status_code: int, data: Any) -> Message | Problem | None:
    """The model of the parsed JSON body ``data`` of a ``status_code`` response (None for an
    undocumented status). Raises ``KeyError``/``TypeError``/``ValueError`` for a body that does
    not match the contract."""
    if status_code == 200:
        response_200 = Message.from_dict(data)

        return response_200

    if status_code == 202:
        response_202 = Message.from_dict(data)

        return response_202

    if status_code == 401:
        response_401 = Problem.from_dict(data)

        return response_401

    if status_code == 404:
        response_404 = Problem.from_dict(data)

        return response_404

    if status_code == 409:
        response_409 = Problem.from_dict(data)

        return response_409

    if status_code == 413:
        response_413 = Problem.from_dict(data)

        return response_413

    if status_code == 415:
        response_415 = Problem.from_dict(data)

        return response_415

    if status_code == 422:
        response_422 = Problem.from_dict(data)

        return response_422

    return None
