import datetime
from typing import Any
from urllib.parse import urlencode

from ...models.problem import Problem
from ...models.settled_message_page import SettledMessagePage
from ...types import UNSET, ApiRequest, Unset


def request(
    *,
    subject_id: str,
    settled_since: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
    """The messages of one subject that were answered or closed, in the order they were.

    A change feed for recovery: every message whose answer is published for `subject_id`
    and that became `ANSWERED`, `CANCELLED` or `EXPIRED`, in the order it did, each once.
    A client that may have missed NATS messages asks once per subject, not once per waiting
    message: the first time with `settled_since` (a time a little before it may have started
    missing messages), later with the `next_cursor` of the previous page, which is always
    returned and resumes right after this page (`has_more` tells whether more are ready
    now). `cursor` wins over `settled_since`.

    Returns the request, for ``parse`` to read the body of its response.
    """
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

    path = "/messages/settled"
    if params:
        path += "?" + urlencode(params)
    return ApiRequest("GET", path, headers, None)


def parse(status_code: int, data: Any) -> Problem | SettledMessagePage | None:
    """The model of the parsed JSON body ``data`` of a ``status_code`` response (None for an
    undocumented status). Raises ``KeyError``/``TypeError``/``ValueError`` for a body that does
    not match the contract."""
    if status_code == 200:
        response_200 = SettledMessagePage.from_dict(data)

        return response_200

    if status_code == 401:
        response_401 = Problem.from_dict(data)

        return response_401

    if status_code == 422:
        response_422 = Problem.from_dict(data)

        return response_422

    return None
