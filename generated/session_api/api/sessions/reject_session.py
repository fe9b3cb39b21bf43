from typing import Any
from urllib.parse import quote

from ...models.problem import Problem
from ...models.session import Session
from ...types import UNSET, ApiRequest, Unset


def request(
    session_id: str,
    *,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
    """Reject (cancel) a session.

    The session's status becomes `FAILED`; its unanswered messages become `CANCELLED` and a
    `session.status` event is published (see `asyncapi.yaml`). Rejecting a `FAILED` session
    again returns it unchanged; rejecting an `EXPIRED` session is a `409`.

    Returns the request, for ``parse`` to read the body of its response.
    """
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    path = "/sessions/{session_id}/reject".format(
        session_id=quote(str(session_id), safe=""),
    )
    return ApiRequest("POST", path, headers, None)


def parse(status_code: int, data: Any) -> Problem | Session | None:
    """The model of the parsed JSON body ``data`` of a ``status_code`` response (None for an
    undocumented status). Raises ``KeyError``/``TypeError``/``ValueError`` for a body that does
    not match the contract."""
    if status_code == 200:
        response_200 = Session.from_dict(data)

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

    if status_code == 422:
        response_422 = Problem.from_dict(data)

        return response_422

    return None
