"""The REST call path: one call loop (``_call``), pure retry decisions (``_retries``), the body
rules (``_bodies``), and the HTTP libraries behind one interface (``_backend``), the one chosen
by :mod:`session_client.config`."""

from ._backend import MAX_CONNECTIONS
from ._call import MAX_RESPONSE_BYTES, RestClient

__all__ = ["MAX_CONNECTIONS", "MAX_RESPONSE_BYTES", "RestClient"]
