"""Argument checks run before any I/O, mirroring the schemas of ``openapi.yaml``."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

from .subjects import SUBJECT_ID_MAX_LENGTH, is_valid_subject_id

__all__ = [
    "check_cursor",
    "check_expiry_date",
    "check_identifier",
    "check_json_object",
    "check_limit",
    "check_max_response_bytes",
    "check_message",
    "check_quorum",
    "check_responded_by",
    "check_status",
    "check_subject_id",
    "check_timeout",
]

# The ``Identifier`` schema of openapi.yaml.
_IDENTIFIER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+=~-]{0,127}")
_MESSAGE_MAX_LENGTH = 65536
_CURSOR_MAX_LENGTH = 1024
SESSION_STATUSES = ("ACTIVE", "FAILED", "EXPIRED")


def _require_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    return value


def check_identifier(name: str, value: object) -> str:
    """A session, message or channel id: 1-128 of ``A-Za-z0-9_.:@+=~-``, starting alphanumeric."""
    text = _require_str(name, value)
    if not text:
        raise ValueError(f"{name} must not be empty")
    if _IDENTIFIER_RE.fullmatch(text) is None:
        raise ValueError(
            f"{name} {text!r} is not a valid identifier: 1 to 128 characters of "
            "A-Z a-z 0-9 _ . : @ + = ~ -, starting with a letter or digit"
        )
    return text


def check_subject_id(value: object) -> str:
    """A legal ``subject_id`` (``asyncapi.yaml``), so no caller can widen a subscription."""
    text = _require_str("subject_id", value)
    if not is_valid_subject_id(text):
        raise ValueError(
            f"subject_id {text!r} is not legal: dot-separated tokens of "
            f"A-Z a-z 0-9 _ : @ + = ~ -, no whitespace, no '*' or '>' wildcards, no empty "
            f"tokens, at most {SUBJECT_ID_MAX_LENGTH} characters"
        )
    return text


def check_message(value: object) -> str:
    """The message text: a non-empty str of at most 65,536 characters."""
    text = _require_str("message", value)
    if not text:
        raise ValueError("message must not be empty")
    if len(text) > _MESSAGE_MAX_LENGTH:
        raise ValueError(f"message is longer than {_MESSAGE_MAX_LENGTH} characters")
    _require_unicode("message", text)
    return text


def check_responded_by(value: object) -> str:
    """Who answered (``RespondedBy``): a non-empty str of at most 256 characters."""
    text = _require_str("responded_by", value)
    if not 1 <= len(text) <= 256:
        raise ValueError(f"responded_by must be 1 to 256 characters, got {len(text)}")
    _require_unicode("responded_by", text)
    return text


def _require_unicode(name: str, text: str) -> None:
    """Refuse lone surrogates: valid in a Python str, not in UTF-8 (or JSON a server keeps)."""
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} contains a lone surrogate ({exc.reason})") from None


def check_cursor(value: object) -> str:
    """A page cursor: the non-empty ``next_cursor`` of a previous page (``PageCursor``)."""
    text = _require_str("cursor", value)
    if not text or len(text) > _CURSOR_MAX_LENGTH or not text.isascii():
        raise ValueError(
            f"cursor must be the next_cursor of a previous page (1 to {_CURSOR_MAX_LENGTH} "
            f"ASCII characters), got {text[:40]!r}"
        )
    return text


#: The contract's ``x-max-json-bytes``: compact UTF-8 JSON at most this long (else a 413).
MAX_JSON_BYTES = {
    "message_data": 256 * 1024,
    "message_data_template": 64 * 1024,
    "response_schema": 64 * 1024,
    "response": 256 * 1024,
}


def check_json_object(name: str, value: object) -> dict[str, Any]:
    """A JSON-serialisable mapping with str keys, within the contract's size for ``name``,
    returned as a plain dict."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
    try:
        # allow_nan=False: NaN and Infinity are not JSON and the server would refuse them.
        size = len(
            json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()
        )
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} contains a lone surrogate ({exc.reason})") from None
    except RecursionError:
        raise ValueError(f"{name} is nested too deeply to send as JSON") from None
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} is not JSON-serialisable: {exc}") from exc
    if not all(isinstance(key, str) for key in value):
        raise TypeError(f"{name} must have str keys")
    limit = MAX_JSON_BYTES.get(name)
    if limit is not None and size > limit:
        raise ValueError(f"{name} is {size} bytes of JSON, over the API's {limit}")
    return dict(value)


def _check_int(name: str, value: object, low: int, high: int) -> int:
    """An int (not bool) from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}, got {value}")
    return value


def check_expiry_date(value: object) -> int:
    """A Unix timestamp in seconds (int, not bool), 0 to year 9999."""
    return _check_int("expiry_date (Unix seconds)", value, 0, 253402300799)


def check_timeout(value: object, name: str = "timeout") -> float:
    """A finite number of seconds greater than zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r:.40}")
    return seconds


_GROUP_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_group(value: object) -> str:
    """A consumer group's name: it names a JetStream durable consumer, so 1 to 64 of
    ``A-Z a-z 0-9 _ -`` (no dots, wildcards or whitespace)."""
    group = _require_str("group", value)
    if _GROUP_RE.fullmatch(group) is None:
        raise ValueError(f"group must be 1 to 64 of A-Z a-z 0-9 _ -, got {group!r:.80}")
    return group


def check_max_in_flight(value: object) -> int:
    """How many items one member may hold: 1 to 10,000."""
    return _check_int("max_in_flight", value, 1, 10_000)


def check_quorum(value: object, channels: int) -> int:
    """A quorum of ``channels`` messages: an int from 1 to ``channels``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"quorum must be an int, got {type(value).__name__}")
    if not 1 <= value <= channels:
        raise ValueError(f"quorum must be between 1 and {channels} (the channels), got {value}")
    return value


def check_limit(value: object) -> int:
    """A page size from 1 to 1000."""
    return _check_int("limit", value, 1, 1000)


def check_max_response_bytes(value: object) -> int:
    """A response body limit: a whole number of bytes, at least 1 (zlib takes it as a size)."""
    return _check_int("max_response_bytes", value, 1, sys.maxsize - 1)


def check_status(value: object) -> str:
    """A session status filter."""
    text = _require_str("status", value)
    if text not in SESSION_STATUSES:
        raise ValueError(f"status must be one of {', '.join(SESSION_STATUSES)}, got {text!r}")
    return text
