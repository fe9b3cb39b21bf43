from collections.abc import Mapping
from typing import Any

from ...models.create_session_request import CreateSessionRequest
from ...models.problem import Problem
from ...models.session import Session
from ...types import UNSET, ApiRequest, Unset, encode_json


def request(
    *,
    body: CreateSessionRequest | Mapping[str, Any],
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
    """Create a session.

    Creates a session in status `ACTIVE`. Sending the same body again for an existing
    `session_id` returns the existing session with `200`; a different body is a `409`.
    `message_data` is validated against `message_data_template` (a JSON Schema); a mismatch
    is a `422`.

    Returns the request, for ``parse`` to read the body of its response.
    """
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    path = "/sessions"
    headers["Content-Type"] = "application/json"
    content = encode_json(body if isinstance(body, Mapping) else body.to_dict())
    return ApiRequest("POST", path, headers, content)


def parse(status_code: int, data: Any) -> Problem | Session | None:
    """The model of the parsed JSON body ``data`` of a ``status_code`` response (None for an
    undocumented status). Raises ``KeyError``/``TypeError``/``ValueError`` for a body that does
    not match the contract."""
    if status_code == 200:
        response_200 = Session.from_dict(data)

        return response_200

    if status_code == 201:
        response_201 = Session.from_dict(data)

        return response_201

    if status_code == 401:
        response_401 = Problem.from_dict(data)

        return response_401

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
