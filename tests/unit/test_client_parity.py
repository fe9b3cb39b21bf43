"""The blocking client mirrors the async one: same methods, same signatures."""

from __future__ import annotations

import inspect

from session_client import AsyncSessionClient, SessionClient

# Lifecycle differs by design: ``aclose``/``__aenter__`` against ``close``/``__enter__``.
ASYNC_ONLY = {"aclose", "close"}


def public_coroutines(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }


def test_every_async_method_has_a_blocking_twin_with_the_same_signature() -> None:
    async_methods = public_coroutines(AsyncSessionClient)
    assert {"send_and_wait_for_response", "wait_for_response", "send_message"} <= set(async_methods)
    for name, signature in async_methods.items():
        if name in ASYNC_ONLY:
            continue
        twin = getattr(SessionClient, name, None)
        assert twin is not None, f"SessionClient lacks {name}"
        assert inspect.signature(twin) == signature, name


def test_both_constructors_take_the_same_arguments() -> None:
    assert inspect.signature(SessionClient.__init__) == inspect.signature(
        AsyncSessionClient.__init__
    )
