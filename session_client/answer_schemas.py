"""``response_schema=``: what a human's answer must look like, and checking an answer against it.

A response schema is a JSON Schema (draft 2020-12) given as a dict, or a pydantic model class.
It is checked before anything is sent (:func:`answer_schema`), sent with the message, and applied
to the answer that comes back (:meth:`AnswerSchema.apply`). The reference server checks answers
with the same functions (:func:`schema_problem`, :func:`answer_errors`). Pure code: no I/O.

Neither library is imported by ``import session_client``: jsonschema (the ``jsonschema`` extra)
only once a dict schema is given, pydantic never - a model class brings its own methods
(``model_json_schema``, ``model_validate``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, Self

from .errors import InvalidAnswerError
from .validation import check_json_object

__all__ = [
    "AnswerSchema",
    "ModelClass",
    "answer_errors",
    "answer_schema",
    "json_pointer",
    "schema_problem",
]


class ModelClass(Protocol):
    """What a pydantic model class offers that a response schema uses (no pydantic import)."""

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]: ...

    @classmethod
    def model_validate(cls, obj: Any) -> Self: ...


def _validator_class() -> Any:
    """jsonschema's draft 2020-12 validator, imported on first use (~40 ms)."""
    try:
        from jsonschema import Draft202012Validator
    except ImportError as exc:  # not installed: say which extra brings it
        raise ImportError(
            "a response_schema given as a dict is checked with jsonschema: "
            "pip install 'session_client_lib[jsonschema]' (or pass a pydantic model class)"
        ) from exc
    return Draft202012Validator


def json_pointer(parts: Iterable[str | int]) -> str:
    """The RFC 6901 JSON Pointer of a path (``("items", 0, "a/b")`` -> ``/items/0/a~1b``)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _object_problem(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if kind is None or kind == "object" or (isinstance(kind, list) and "object" in kind):
        return None
    return f"must accept a JSON object (an answer is one), not type {kind!r}"


def schema_problem(schema: Mapping[str, Any]) -> str | None:
    """Why ``schema`` cannot be a response schema (not a valid 2020-12 JSON Schema, not one of
    objects, or one that cannot be applied: an unresolvable ``$ref``), or None if it can."""
    problem = _object_problem(schema)
    if problem is not None:
        return problem
    validator_class = _validator_class()
    from jsonschema.exceptions import SchemaError

    try:
        validator_class.check_schema(schema)
        # Applying it once finds what the meta-schema cannot: a $ref that resolves nowhere.
        next(validator_class(schema).iter_errors({}), None)
    except SchemaError as exc:
        return f"not a valid JSON Schema (2020-12): {exc.message}"
    except Exception as exc:  # jsonschema's referencing errors have no common public base
        return f"cannot be applied: {exc}"
    return None


def answer_errors(schema: Mapping[str, Any], response: object) -> list[dict[str, str]]:
    """Every violation of ``schema`` (a valid response schema) by ``response``, each as
    ``{"path": JSON Pointer into the response, "message": ...}``, in document order."""
    errors = _validator_class()(schema).iter_errors(response)
    ordered = sorted(errors, key=lambda error: [str(part) for part in error.absolute_path])
    return [
        {"path": json_pointer(error.absolute_path), "message": error.message} for error in ordered
    ]


class AnswerSchema:
    """The response schema of one call: ``json_schema`` is sent with the message, and
    :meth:`apply` turns the answer that comes back into what the call returns."""

    __slots__ = ("json_schema", "model")

    def __init__(self, json_schema: dict[str, Any], model: type[ModelClass] | None) -> None:
        self.json_schema = json_schema
        self.model = model

    def apply(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` (a ``ResponsePayload``) if its ``response`` matches; with a model, a copy
        whose ``response`` is the model's instance. Raises :class:`InvalidAnswerError`."""
        if self.model is None:
            errors = answer_errors(self.json_schema, payload["response"])
            if errors:
                raise InvalidAnswerError(payload, errors)
            return payload
        try:
            instance = self.model.model_validate(payload["response"])
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise InvalidAnswerError(payload, _model_errors(exc)) from exc
        return {**payload, "response": instance}


def _model_errors(exc: ValueError) -> list[dict[str, str]]:
    """pydantic's errors as ``{"path", "message"}`` entries (its ``loc`` as a JSON Pointer)."""
    listed = getattr(exc, "errors", None)
    if not callable(listed):
        return [{"path": "", "message": str(exc)}]
    return [{"path": json_pointer(error["loc"]), "message": error["msg"]} for error in listed()]


def _is_model_class(value: object) -> bool:
    return isinstance(value, type) and all(
        callable(getattr(value, name, None)) for name in ("model_json_schema", "model_validate")
    )


def answer_schema(value: object) -> AnswerSchema:
    """``value`` - a JSON Schema dict or a pydantic model class - as an :class:`AnswerSchema`.

    Raises ``TypeError`` for anything else and ``ValueError`` for a schema the API would refuse
    (too large, not a valid JSON Schema, or not one of objects), before anything is sent."""
    if _is_model_class(value):
        model: Any = value
        json_schema = check_json_object("response_schema", model.model_json_schema())
        problem = _object_problem(json_schema)
        if problem is not None:
            raise ValueError(f"response_schema {model.__name__}: {problem}")
        return AnswerSchema(json_schema, model)
    if not isinstance(value, Mapping):
        raise TypeError(
            "response_schema must be a JSON Schema (a dict) or a pydantic model class, "
            f"got {type(value).__name__}"
        )
    json_schema = check_json_object("response_schema", value)
    problem = schema_problem(json_schema)
    if problem is not None:
        raise ValueError(f"response_schema {problem}")
    return AnswerSchema(json_schema, None)
