"""Shared types of the routes and models."""

import json
from typing import Any, Literal, NamedTuple


class Unset:
    def __bool__(self) -> Literal[False]:
        return False


UNSET: Unset = Unset()


class ApiRequest(NamedTuple):
    """A request as a route builds it, for any HTTP client to send."""

    method: str
    #: The path below the API's base URL, with its query string.
    path: str
    headers: dict[str, str]
    #: The JSON body, encoded; None for a request without one.
    content: bytes | None


def encode_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON; NaN and Infinity, which are not JSON, are refused."""
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


__all__ = ["UNSET", "ApiRequest", "Unset", "encode_json"]
