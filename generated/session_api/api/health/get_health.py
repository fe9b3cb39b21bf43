from typing import Any

from ...models.health import Health
from ...types import UNSET, ApiRequest, Unset


def request(
    *,
    traceparent: str | Unset = UNSET,
    tracestate: str | Unset = UNSET,
) -> ApiRequest:
    """Report that the service is up.

    Returns the request, for ``parse`` to read the body of its response.
    """
    headers: dict[str, Any] = {}
    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent

    if not isinstance(tracestate, Unset):
        headers["tracestate"] = tracestate

    path = "/health"
    return ApiRequest("GET", path, headers, None)


def parse(status_code: int, data: Any) -> Health | None:
    """The model of the parsed JSON body ``data`` of a ``status_code`` response (None for an
    undocumented status). Raises ``KeyError``/``TypeError``/``ValueError`` for a body that does
    not match the contract."""
    if status_code == 200:
        response_200 = Health.from_dict(data)

        return response_200

    return None
