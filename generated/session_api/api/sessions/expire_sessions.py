from typing import Any

from ...models.expire_result import ExpireResult
from ...models.problem import Problem
from ...types import UNSET, ApiRequest, Unset


def request(
    *,
    idempotency_key: str | Unset = UNSET,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
    """Mark every open session past its expiry date as EXPIRED.

    Every `ACTIVE` session whose `expiry_date` is at or before the current time becomes
    `EXPIRED`, its unanswered messages become `EXPIRED`, and a `session.status` event is
    published for it (see `asyncapi.yaml`).

    Returns the request, for ``parse`` to read the body of its response.
    """
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    path = "/sessions/expire"
    return ApiRequest("POST", path, headers, None)


def parse(status_code: int, data: Any) -> ExpireResult | Problem | None:
    """The model of the parsed JSON body ``data`` of a ``status_code`` response (None for an
    undocumented status). Raises ``KeyError``/``TypeError``/``ValueError`` for a body that does
    not match the contract."""
    if status_code == 200:
        response_200 = ExpireResult.from_dict(data)

        return response_200

    if status_code == 401:
        response_401 = Problem.from_dict(data)

        return response_401

    if status_code == 422:
        response_422 = Problem.from_dict(data)

        return response_422

    return None
