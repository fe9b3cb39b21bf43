"""Which HTTP backend a client uses: the one it is told (``http_backend=``, else
``ORG_HTTP_BACKEND``), else httpx; never one picked because some package installed it."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from typing import Any

import httpx
import pytest
import respx

from session_client import AsyncSessionClient, SessionClient

from .records import SESSION

API = "http://api.test"


def test_httpx_is_the_default_even_with_aiohttp_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ORG_HTTP_BACKEND", raising=False)
    assert importlib.util.find_spec("aiohttp") is not None  # the dev venv has the extra
    client = AsyncSessionClient(API)
    assert client.http_backend == "httpx"
    assert "http_backend='httpx'" in repr(client)


@pytest.mark.parametrize("name", ["httpx", "aiohttp", "httpx2"])
def test_the_backend_is_chosen_by_argument_or_environment(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("ORG_HTTP_BACKEND", name)
    assert AsyncSessionClient(API).http_backend == name
    with SessionClient(API, http_backend="httpx") as client:  # the argument wins
        assert client.http_backend == "httpx"
        assert "http_backend='httpx'" in repr(client)


@pytest.mark.parametrize(
    ("options", "error", "names"),
    [
        ({"http_backend": "requests"}, ValueError, "http_backend"),
        (
            {"http_backend": "aiohttp", "http_transport": httpx.MockTransport(print)},
            ValueError,
            "http_transport",
        ),
        ({"http_transport": object()}, TypeError, "http_transport"),
    ],
)
def test_a_wrong_backend_is_refused_at_construction(
    options: dict[str, Any], error: type[Exception], names: str
) -> None:
    with pytest.raises(error, match=names):
        AsyncSessionClient(API, **options)


def test_a_wrong_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORG_HTTP_BACKEND", "curl")
    with pytest.raises(ValueError, match="ORG_HTTP_BACKEND"):
        AsyncSessionClient(API)


def test_a_backend_that_is_not_installed_says_which_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "httpx2" else found(name, *a)
    )
    with pytest.raises(ValueError, match=r"session_client_lib\[httpx2\]"):
        AsyncSessionClient(API, http_backend="httpx2")


async def test_a_respx_mock_holds_with_aiohttp_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before, installing aiohttp moved every client onto it, past respx: a real call was made.
    monkeypatch.delenv("ORG_HTTP_BACKEND", raising=False)
    with respx.mock(base_url=API) as mock:
        route = mock.get("/sessions/s1").mock(return_value=httpx.Response(200, json=SESSION))
        async with AsyncSessionClient(API, ["nats://127.0.0.1:1"]) as client:
            assert await client.get_session("s1") == SESSION
    assert route.call_count == 1


@pytest.mark.parametrize(("name", "installed"), [("aiohttp", "3.10.11"), ("httpx2", "2.16.2")])
def test_a_release_older_than_the_extra_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, installed: str
) -> None:
    # Another package may bring an older one, whose missing names would fail at the first error.
    version = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version", lambda n: installed if n == name else version(n)
    )
    with pytest.raises(ValueError, match=rf"needs {name} .* or newer"):
        AsyncSessionClient(API, http_backend=name)
