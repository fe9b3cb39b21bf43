from typing import Any
from urllib.parse import urlencode

from ...models.problem import Problem
from ...models.session_page import SessionPage
from ...models.session_status import SessionStatus
from ...types import UNSET, ApiRequest, Unset


def request(
    *,
    status: SessionStatus | Unset = UNSET,
    subject_id: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
    """List sessions, newest last, one page at a time.

    Returns the request, for ``parse`` to read the body of its response.
    """
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

    path = "/sessions"
    if params:
        path += "?" + urlencode(params)
    return ApiRequest("GET", path, headers, None)


def parse(status_code: int, data: Any) -> Problem | SessionPage | None:
    """The model of the parsed JSON body ``data`` of a ``status_code`` response (None for an
    undocumented status). Raises ``KeyError``/``TypeError``/``ValueError`` for a body that does
    not match the contract."""
    if status_code == 200:
        response_200 = SessionPage.from_dict(data)

        return response_200

    if status_code == 401:
        response_401 = Problem.from_dict(data)

        return response_401

    if status_code == 422:
        response_422 = Problem.from_dict(data)

        return response_422

    return None
