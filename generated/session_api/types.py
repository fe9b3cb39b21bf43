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


# One encoder for every body: json.dumps with options builds a new one on each call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON; NaN and Infinity, which are not JSON, are refused."""
    return _ENCODER.encode(value).encode()


__all__ = ["UNSET", "ApiRequest", "Unset", "encode_json"]
