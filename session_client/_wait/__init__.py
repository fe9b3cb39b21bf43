"""Waiting for answers: the NATS seam, routing, recovery rounds and the waiter owning them.

- ``_payloads``: what a payload on a response subject may be (pure).
- ``_routing``: which waits a payload or REST record settles (pure).
- ``_schedule``: when and how each subject's waits are recovered (pure).
- ``_nats``: the one module that touches nats-py.
- ``_waiter``: :class:`ResponseWaiter`, composing them with the REST API.
"""

from ._routing import Wait
from ._waiter import ResponseWaiter

__all__ = ["ResponseWaiter", "Wait"]
