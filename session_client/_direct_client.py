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

Anything else - another kind of argument, or cookies held - goes through httpx's own path,
unchanged. (Given a transport, httpx mounts none for proxies from the environment either.)
"""

from __future__ import annotations

import logging
from typing import Any

from . import _http

__all__ = ["DirectClient"]

_httpx_logger = logging.getLogger("httpx")


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
        self._timeouts = timeout.as_dict()

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
        merged = _http.Headers(self.headers)
        if headers is not None:
            merged.update(headers)
        request = _http.Request(
            method,
            self._prefix + url,
            params=params,
            content=content,
            json=json,
            headers=merged,
            extensions={"timeout": dict(self._timeouts)},
        )
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
            if "set-cookie" in response.headers:  # kept as httpx keeps them
                self.cookies.extract_cookies(response)
            for hook in self.event_hooks["response"]:
                await hook(response)
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response
