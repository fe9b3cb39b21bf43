"""The REST call path: one call loop (``_call``), pure retry decisions (``_retries``), the body
rules (``_bodies``) and the HTTP libraries behind one interface (``_backend``: ``_httpx``,
``_aiohttp``)."""

from ._backend import BACKEND_ENV, BACKENDS, Settings, choose_backend
from ._call import MAX_CONNECTIONS, MAX_RESPONSE_BYTES, RestClient, Timeouts

__all__ = [
    "BACKENDS",
    "BACKEND_ENV",
    "MAX_CONNECTIONS",
    "MAX_RESPONSE_BYTES",
    "RestClient",
    "Settings",
    "Timeouts",
    "choose_backend",
]
