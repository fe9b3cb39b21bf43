"""A client process whose memory is measured alone: one ``get_session`` to warm up (imports,
loop thread, connection pool), then one against a server answering too much.

Run as ``python -m tests.reliability.oversized_client WARM_URL BAD_URL``; prints one JSON line:
what the call raised, how long it took, the RSS before it and the peak RSS, in MiB.
"""

from __future__ import annotations

import json
import sys
import time

from session_client import SessionClient

from .conftest import peak_rss_mb, reset_peak_rss, rss_mb


def main(warm_url: str, bad_url: str) -> None:
    """Warm up, measure the RSS, make the oversized call, print the figures."""
    with SessionClient(warm_url, max_retries=0) as client:
        client.get_session("s1")
    reset_peak_rss()  # the warm-up's own peak (imports) must not count
    before = rss_mb()
    with SessionClient(bad_url, max_retries=0) as client:
        started = time.monotonic()
        try:
            client.get_session("s1")
            outcome = "returned"
        except Exception as exc:
            outcome = type(exc).__name__
        seconds = time.monotonic() - started
    figures = {
        "outcome": outcome,
        "seconds": seconds,
        "rss_before_mb": before,
        "peak_mb": peak_rss_mb(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main(*sys.argv[1:3])
