from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ...models.message import Message
from ...models.problem import Problem
from ...models.submit_response_request import SubmitResponseRequest
from ...types import UNSET, ApiRequest, Unset, encode_json


def request(
    session_id: str,
    message_id: str,
    *,
    body: SubmitResponseRequest | Mapping[str, Any],
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
    """Submit the human's answer to a message (channel integration webhook).

    Stores the answer, marks the message `ANSWERED` and publishes the answer on NATS (see
    `asyncapi.yaml`). A message is answered at most once: a second answer, or an answer for a
    session that is no longer `ACTIVE`, is a `409`.

    An answer that does not match the message's `response_schema` is a `422` whose `errors`
    list each violation, its `path` a JSON Pointer into the request body (`/response/amount`);
    nothing is stored or published and the message stays `SENT`, so the human can answer
    again. `responded_by` (optional) names who answered; it is kept with the answer and
    published with it.

    Returns the request, for ``parse`` to read the body of its response.
    """
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    path = "/sessions/{session_id}/messages/{message_id}/response".format(
        session_id=quote(str(session_id), safe=""),
        message_id=quote(str(message_id), safe=""),
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
