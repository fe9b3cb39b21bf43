"""The local stack for demos and tests: a reference session server implementing
``openapi.yaml``, an embedded ``nats-server`` and a simulated human.

Needs the ``testing`` extra: ``pip install 'session_client_lib[testing]'``.
"""

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
