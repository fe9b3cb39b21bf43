"""What one nats-server pays for subscriptions to session subjects (BENCHMARKS.md, item 20).

    .venv/bin/python scripts/nats_subscriptions.py CONNECTIONS SUBSCRIPTIONS_EACH

Starts an embedded nats-server (no JetStream), opens CONNECTIONS raw protocol connections, has
each subscribe to SUBSCRIPTIONS_EACH distinct session subjects, then publishes 10,000 answers to
random ones. Prints one JSON line: the server's RSS growth, the time until every connection's
PONG, and the time and server CPU to route the answers. Raw protocol, so no client library's
per-subscription objects are made.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sys
import time
from pathlib import Path

from session_client.testing.nats_server import NatsServer

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
HELLO = b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n'


def connect(port: int) -> tuple[socket.socket, object]:
    """A raw connection, past INFO and its first PONG; the socket and its line reader."""
    sock = socket.create_connection(("127.0.0.1", port))
    reader = sock.makefile("rb")
    reader.readline()  # INFO
    sock.sendall(HELLO)
    reader.readline()  # PONG
    return sock, reader


def main() -> None:
    """Entry point."""
    connections, each = int(sys.argv[1]), int(sys.argv[2])
    with NatsServer(jetstream=False) as server:
        stat = Path(f"/proc/{server.pid}/stat")

        def rss() -> int:
            return int(Path(f"/proc/{server.pid}/statm").read_text().split()[1]) * PAGE

        def cpu() -> float:
            return sum(int(field) for field in stat.read_text().split()[13:15]) / TICK

        links = [connect(server.port) for _ in range(connections)]
        time.sleep(1)
        before, started = rss(), time.perf_counter()
        for c, (sock, _) in enumerate(links):
            subs = (f"SUB sessions.responses.scale.p{c}-s{i} {i}\r\n" for i in range(each))
            sock.sendall("".join(subs).encode() + b"PING\r\n")
        for _, reader in links:
            while not reader.readline().startswith(b"PONG"):  # type: ignore[attr-defined]
                pass
        subscribed = time.perf_counter() - started
        time.sleep(1)
        grown = rss() - before
        publisher, reader = connect(server.port)
        payload = b"x" * 200
        answers = b"".join(
            f"PUB sessions.responses.scale.p{random.randrange(connections)}"
            f"-s{random.randrange(each)} {len(payload)}\r\n".encode()
            + payload
            + b"\r\n"
            for _ in range(10_000)
        )
        cpu_before, started = cpu(), time.perf_counter()
        publisher.sendall(answers + b"PING\r\n")
        while not reader.readline().startswith(b"PONG"):  # type: ignore[attr-defined]
            pass
        routed = time.perf_counter() - started
        time.sleep(0.5)
        figures = {
            "subscriptions": connections * each,
            "rss_growth_mb": round(grown / 2**20, 1),
            "bytes_per_subscription": round(grown / (connections * each)),
            "all_subscribed_s": round(subscribed, 2),
            "route_10k_answers_s": round(routed, 3),
            "server_cpu_10k_answers_s": round(cpu() - cpu_before, 2),
        }
        print(json.dumps(figures))
        for sock, _ in [*links, (publisher, reader)]:
            sock.close()


if __name__ == "__main__":
    main()
