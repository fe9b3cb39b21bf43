"""The local stack for demos and tests: a reference session server implementing
``openapi.yaml``, an embedded ``nats-server`` and a simulated human.

Needs the ``testing`` extra: ``pip install 'session_client_lib[testing]'``. The names below are
imported on first use, so that ``python -m session_client.testing`` and ``session-client dev``
can say so in one line when it is missing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .faults import Faults
    from .human import Answer, Reject, Silence, SimulatedHuman
    from .nats_server import NatsServer
    from .server import ReferenceServer
    from .stack import LocalStack

__all__ = [
    "Answer",
    "Faults",
    "LocalStack",
    "NatsServer",
    "ReferenceServer",
    "Reject",
    "Silence",
    "SimulatedHuman",
]

_MODULES = {
    "Answer": "human",
    "Faults": "faults",
    "LocalStack": "stack",
    "NatsServer": "nats_server",
    "ReferenceServer": "server",
    "Reject": "human",
    "Silence": "human",
    "SimulatedHuman": "human",
}


def missing_extra(exc: ImportError) -> str:
    """What to tell a user whose import of the local stack failed with ``exc``."""
    install = "pip install 'session_client_lib[testing]'"
    return f"the local stack needs the testing extra: {install} ({exc})"


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(f".{module}", __name__), name)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(missing_extra(exc), name=exc.name) from exc
