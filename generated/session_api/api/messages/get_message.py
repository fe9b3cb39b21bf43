from typing import Any
from urllib.parse import quote

from ...models.message import Message
from ...models.problem import Problem
from ...types import UNSET, ApiRequest, Unset


def request(
    session_id: str,
    message_id: str,
    *,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
    """Get a message with its state and, once answered, the human's response.

    Returns the request, for ``parse`` to read the body of its response.
    """
    headers: dict[str, Any] = {}
    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    path = "/sessions/{session_id}/messages/{message_id}".format(
        session_id=quote(str(session_id), safe=""),
        message_id=quote(str(message_id), safe=""),
    )
    return ApiRequest("GET", path, headers, None)


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

    if status_code == 422:
        response_422 = Problem.from_dict(data)

        return response_422

    return None
