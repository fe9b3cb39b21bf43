"""``_json.loads``: ``json.loads`` of a body, the same value or the same error, faster."""

from __future__ import annotations

import json

import pytest

from session_client._json import loads

BODIES = [
    b'{"a": 1, "b": [true, null, "\\u00e9"]}',
    '{"é": "ü"}'.encode(),
    b"[1, 2]",
    b"  {}  ",  # whitespace around the value
    b'{"a": 1}\n',
    b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark: json.loads takes it
    '{"a": 1}'.encode("utf-16"),  # json.loads detects UTF-16 and 32
    '{"a": 1}'.encode("utf-32-le"),
    b"",
    b"{} {}",  # extra data
    b'{"a": 1',
    b"\xff\xfe\xfd",  # not UTF-8
    b"NaN",
    b"1\x00\x00\x00",
]


@pytest.mark.parametrize("body", BODIES)
def test_the_same_value_or_the_same_error_as_json_loads(body: bytes) -> None:
    try:
        expected: object = json.loads(body)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            loads(body)
    else:
        assert loads(body) == expected or (expected != expected)  # NaN


def test_deep_nesting_raises_recursion_error_as_json_loads() -> None:
    with pytest.raises(RecursionError):
        loads(b"[" * 100_000)


@pytest.mark.parametrize("value", [{"a": 1, "é": [None, 1.5]}, {"n": float("nan")}, {"i": 1e999}])
def test_request_bodies_are_compact_utf8_json_and_refuse_what_is_not_json(value: object) -> None:
    from session_client._session_api.types import encode_json

    try:
        expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        with pytest.raises(ValueError):
            encode_json(value)
    else:
        assert encode_json(value) == expected.encode()
