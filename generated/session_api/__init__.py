"""A client library for accessing Session Management API"""

from .types import ApiRequest

__all__ = ("ApiRequest",)
