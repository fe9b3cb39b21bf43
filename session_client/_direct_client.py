"""The httpx client under the generated calls, with a shorter way from ``request()`` to the
transport.

The generated calls only ever call ``request(method, "/relative/path", params=, json=,
headers=)``. ``httpx.AsyncClient`` then merges the path with ``base_url`` (two URL parses), runs
its auth and redirect flows and, for every response, its cookie jar (a urllib request and an
email message built per response): together about a fifth of the client's CPU per call
(``make bench``, "Where the CPU goes, by library"), none of it doing anything here. So such a
call is built as one ``Request`` and handed straight to the transport stack (retries, attempts,
telemetry), with the client's headers, timeout and event hooks applied, and the ``httpx`` log
line written, as httpx does.

Building that ``Request`` the usual way costs more than the rest of the call's httpx work: a
URL parse with a check of every character, and four normalised copies of the headers. So its
headers are put together once, in their final form, and its URL is parsed once per path and
kept (a few hundred, the latest; a session's paths repeat). The JSON body is encoded as httpx
0.28 encodes it (compact, no NaN); httpx 0.27 only adds spaces.

Anything else - another kind of argument, or cookies held - goes through httpx's own path,
unchanged. (Given a transport, httpx mounts none for proxies from the environment either.)
"""

from __future__ import annotations

import json as json_module
import logging
from typing import Any

from . import _http

__all__ = ["DirectClient"]

_httpx_logger = logging.getLogger("httpx")

#: How many request URLs are kept parsed (a few per session in use).
_KEPT_URLS = 512


class DirectClient(_http.AsyncClient):
    """An ``httpx.AsyncClient`` over ``transport`` whose plain requests take the short way."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: dict[str, str],
        timeout: _http.Timeout,
        transport: _http.AsyncBaseTransport,
        event_hooks: dict[str, list[Any]],
    ) -> None:
        super().__init__(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            event_hooks=event_hooks,
        )
        self._direct_to = transport
        self._prefix = str(self.base_url).rstrip("/")
        self._host = [(b"Host", self.base_url.netloc)] if self.base_url.host else []
        self._timeouts = timeout.as_dict()
        self._urls: dict[str, _http.URL] = {}

    async def request(
        self,
        method: str,
        url: Any,
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        auth: Any = _http.USE_CLIENT_DEFAULT,
        follow_redirects: Any = _http.USE_CLIENT_DEFAULT,
        timeout: Any = _http.USE_CLIENT_DEFAULT,
        extensions: Any = None,
    ) -> _http.Response:
        """Send a request; see ``httpx.AsyncClient.request``."""
        plain = (
            isinstance(url, str)
            and url.startswith("/")
            and content is None
            and data is None
            and files is None
            and cookies is None
            and auth is _http.USE_CLIENT_DEFAULT
            and follow_redirects is _http.USE_CLIENT_DEFAULT
            and timeout is _http.USE_CLIENT_DEFAULT
            and extensions is None
            and not self.cookies
            and not self.is_closed  # httpx's own way says it is closed
        )
        if not plain:
            return await super().request(
                method,
                url,
                content=content,
                data=data,
                files=files,
                json=json,
                params=params,
                headers=headers,
                cookies=cookies,
                auth=auth,
                follow_redirects=follow_redirects,
                timeout=timeout,
                extensions=extensions,
            )
        request = self._build(method, url, params, json, headers)
        for hook in self.event_hooks["request"]:
            await hook(request)
        try:
            response = await self._direct_to.handle_async_request(request)
        except _http.RequestError as exc:
            exc.request = request  # as httpx's own way sets it
            raise
        response.request = request
        if _httpx_logger.isEnabledFor(logging.INFO):  # the line httpx's own way logs
            _httpx_logger.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        try:
            # Cookies are kept as httpx keeps them.
            if _http.header_value(response.headers, b"set-cookie") is not None:
                self.cookies.extract_cookies(response)
            for hook in self.event_hooks["response"]:
                await hook(response)
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response

    def _build(self, method: str, url: str, params: Any, json: Any, headers: Any) -> _http.Request:
        """The request httpx's own way would build (same URL, headers and body bytes)."""
        method = method.upper()
        body = b"" if json is None else _encode_json(json)
        # httpx's order: Host, the client's headers (a call's own replacing them), the body's.
        ours = _raw_headers(headers) if headers else []
        names = {name.lower() for name, _ in ours}
        raw = self._host + [item for item in self.headers.raw if item[0].lower() not in names]
        raw += ours
        if json is not None or method in ("POST", "PUT", "PATCH"):
            if b"content-length" not in names and b"transfer-encoding" not in names:
                raw.append((b"Content-Length", str(len(body)).encode()))
            if json is not None and b"content-type" not in names:
                raw.append((b"Content-Type", b"application/json"))
        request = _http.Request(
            method,
            self._url(url) if params is None else _http.URL(self._prefix + url, params=params),
            headers=raw,
            stream=_http.ByteStream(body),
            extensions={"timeout": dict(self._timeouts)},
        )
        request.read()  # as httpx's own way does for a body in memory: .content is there
        return request

    def _url(self, path: str) -> _http.URL:
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _KEPT_URLS:
                del self._urls[next(iter(self._urls))]  # the oldest
            url = self._urls[path] = _http.URL(self._prefix + path)
        return url


def _raw_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    """A call's own headers as bytes, as ``httpx.Headers`` encodes them (a generated call
    passes a dict of ASCII strings: encoded directly, without its per-item checks)."""
    if isinstance(headers, dict) and all(
        type(name) is str and type(value) is str for name, value in headers.items()
    ):
        return [(name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()]
    return _http.Headers(headers).raw


def _encode_json(value: Any) -> bytes:
    return json_module.dumps(
        value, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()
