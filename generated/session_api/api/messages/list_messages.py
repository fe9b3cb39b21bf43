from typing import Any
from urllib.parse import quote, urlencode

from ...models.message_page import MessagePage
from ...models.problem import Problem
from ...types import UNSET, ApiRequest, Unset


def request(
    session_id: str,
    *,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
    """The session's record - its messages, oldest first, one page at a time.

    Every message of the session in the order it was sent, each with its `state`, its
    `response_schema`, its answer (`response`, `responded_by`, `responded_at`) and
    `created_at`: what was asked, how the answer had to look, who answered what and when.

    Returns the request, for ``parse`` to read the body of its response.
    """
    headers: dict[str, Any] = {}
    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    path = "/sessions/{session_id}/messages".format(
        session_id=quote(str(session_id), safe=""),
    )
    if params:
        path += "?" + urlencode(params)
    return ApiRequest("GET", path, headers, None)


def parse(status_code: int, data: Any) -> MessagePage | Problem | None:
    """The model of the parsed JSON body ``data`` of a ``status_code`` response (None for an
    undocumented status). Raises ``KeyError``/``TypeError``/``ValueError`` for a body that does
    not match the contract."""
    if status_code == 200:
        response_200 = MessagePage.from_dict(data)

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
