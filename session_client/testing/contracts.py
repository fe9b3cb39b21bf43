"""Load ``openapi.yaml`` / ``asyncapi.yaml`` and validate data against their schemas.

The reference server validates every request against the contract itself, so the contract stays
the single source of truth for what is accepted. Two keywords differ from plain ``jsonschema``:
``pattern`` matches as JSON Schema (ECMA-262) says, ``$`` at the very end only, and the
contract's ``x-max-json-bytes`` bounds a value's size as :func:`json_bytes` measures it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["SIZE_KEYWORD", "ContractValidator", "json_bytes", "load_contract"]

#: The contract's bound on a value's size: see :func:`json_bytes`.
SIZE_KEYWORD = "x-max-json-bytes"

_OPENAPI_URI = "urn:session-api:openapi"


def _contract_path(name: str) -> Path:
    # Installed wheels carry a copy under testing/contracts; a checkout reads the top-level file.
    packaged = resources.files(__package__ or "session_client.testing") / "contracts" / name
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / name


@functools.cache
def load_contract(name: str) -> dict[str, Any]:
    """Parse the contract file ``name`` (``openapi.yaml`` or ``asyncapi.yaml``)."""
    document: dict[str, Any] = yaml.safe_load(_contract_path(name).read_text(encoding="utf-8"))
    return document


def json_bytes(value: object) -> int:
    """The size of ``value`` as compact UTF-8 JSON, as the reference server writes responses.

    Raises ``UnicodeEncodeError`` if a string holds a lone surrogate (``"\\ud800"`` is valid
    JSON, but no UTF-8 text can carry it).
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


@functools.cache
def _ecma_pattern(pattern: str) -> re.Pattern[str]:
    # Python's $ also matches before a final newline ("id\n" would pass "^[a-z]+$"); ECMA-262's
    # (no multiline flag) only at the end: \Z. Escapes and character classes are left alone.
    translated, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "[]":
            in_class = char == "["
        elif char == "$" and not in_class:
            char = r"\Z"
        translated.append(char)
    return re.compile("".join(translated))


def _pattern(
    validator: Any, pattern: str, instance: object, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not _ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _max_json_bytes(
    validator: Any, limit: int, instance: object, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    try:
        size = json_bytes(instance)
    except (UnicodeEncodeError, ValueError, RecursionError):
        return  # not JSON text at all: the server refuses it before validating
    if size > limit:
        yield ValidationError(f"{size} bytes of JSON; at most {limit}")


_ContractDraft = validators.extend(  # type: ignore[no-untyped-call]  # jsonschema: untyped
    Draft202012Validator, {"pattern": _pattern, SIZE_KEYWORD: _max_json_bytes}
)


class ContractValidator:
    """Validates instances against named schemas of ``openapi.yaml``."""

    def __init__(self) -> None:
        spec = load_contract("openapi.yaml")
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_OPENAPI_URI, resource)
        self._schemas: dict[str, Any] = spec["components"]["schemas"]
        self._validators: dict[str, Any] = {}

    def _validator(self, schema_name: str) -> Any:
        validator = self._validators.get(schema_name)
        if validator is None:
            ref = {"$ref": f"{_OPENAPI_URI}#/components/schemas/{schema_name}"}
            validator = _ContractDraft(ref, registry=self._registry)
            self._validators[schema_name] = validator
        return validator

    def max_json_bytes(self, schema_name: str) -> int:
        """The ``x-max-json-bytes`` of the schema ``schema_name`` (a page's size bound)."""
        limit: int = self._schemas[schema_name][SIZE_KEYWORD]
        return limit

    def problems(
        self, schema_name: str, instance: object, location: str
    ) -> tuple[int, list[dict[str, str]]]:
        """Every violation of ``schema_name`` by ``instance``, as problem-detail entries, and
        the status to answer with: 413 if a value is over its ``x-max-json-bytes``, else 422."""
        status, errors = 422, []
        for error in self._validator(schema_name).iter_errors(instance):
            if error.validator == SIZE_KEYWORD:
                status = 413
            errors.append(
                {
                    "location": location,
                    "path": "/" + "/".join(str(part) for part in error.absolute_path),
                    "message": error.message,
                }
            )
        return status, errors

    def errors(self, schema_name: str, instance: object, location: str) -> list[dict[str, str]]:
        """Every violation of ``schema_name`` by ``instance``, as problem-detail entries."""
        return self.problems(schema_name, instance, location)[1]
