"""Load ``openapi.yaml`` / ``asyncapi.yaml`` and validate data against their schemas.

The reference server validates every request against the contract itself, so the contract stays
the single source of truth for what is accepted.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["ContractValidator", "load_contract"]

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


class ContractValidator:
    """Validates instances against named schemas of ``openapi.yaml``."""

    def __init__(self) -> None:
        spec = load_contract("openapi.yaml")
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_OPENAPI_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}

    def _validator(self, schema_name: str) -> Draft202012Validator:
        validator = self._validators.get(schema_name)
        if validator is None:
            ref = {"$ref": f"{_OPENAPI_URI}#/components/schemas/{schema_name}"}
            validator = Draft202012Validator(ref, registry=self._registry)
            self._validators[schema_name] = validator
        return validator

    def errors(self, schema_name: str, instance: object, location: str) -> list[dict[str, str]]:
        """Every violation of ``schema_name`` by ``instance``, as problem-detail entries."""
        return [
            {
                "location": location,
                "path": "/" + "/".join(str(part) for part in error.absolute_path),
                "message": error.message,
            }
            for error in self._validator(schema_name).iter_errors(instance)
        ]
