"""An answer in the shape of a response schema, for the simulated human. Pure code: no I/O."""

from __future__ import annotations

from typing import Any

__all__ = ["sketch_answer"]

_EMPTY_VALUES: dict[str, Any] = {
    "string": "",
    "integer": 0,
    "number": 0,
    # The default human approves: a yes/no question gets a yes.
    "boolean": True,
    "array": [],
}


def _sized(schema: dict[str, Any], value: Any) -> Any:
    """``value`` grown to the schema's lower bounds (``minLength``, ``minimum``, ``minItems``)."""
    if isinstance(value, str) and isinstance(schema.get("minLength"), int):
        return value.ljust(schema["minLength"], "x")
    if isinstance(value, int | float) and not isinstance(value, bool):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        if isinstance(low, int | float):
            return max(value, low + (1 if "exclusiveMinimum" in schema else 0))
    if isinstance(value, list) and isinstance(schema.get("minItems"), int):
        return value + [_sketch(schema.get("items"))] * (schema["minItems"] - len(value))
    return value


def _sketch(schema: Any) -> Any:
    """A value in the shape of ``schema``: its default, const, first example or enum member, or
    the simplest value of its type within its bounds (objects with each property sketched)."""
    if not isinstance(schema, dict):
        return None
    for key in ("default", "const"):
        if key in schema:
            return schema[key]
    for key in ("examples", "enum"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return values[0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((name for name in kind if name != "null"), None)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        return {name: _sketch(sub) for name, sub in properties.items()}
    if kind == "object":
        return {}
    return _sized(schema, _EMPTY_VALUES.get(kind)) if isinstance(kind, str) else None


def sketch_answer(schema: dict[str, Any]) -> dict[str, Any]:
    """An answer sketched from ``schema``: valid for the plain schemas a question uses (typed
    properties, enums, defaults, lower bounds), ``{}`` if it does not describe an object."""
    answer = _sketch(schema)
    return answer if isinstance(answer, dict) else {}
