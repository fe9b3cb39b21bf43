"""A worker process of a consumer group, for the fleet scenario and the bench.

``python -m tests.reliability.consumer_worker API_URL NATS_URL SUBJECT_ID GROUP LOG
[--max-in-flight N] [--ack-wait S] [--io-ms MS]``: handles every item of the group, writing
one JSON line per handled item to LOG (its key, deliveries and wall-clock time) before the
loop acknowledges it, and then ``{"acked": key}`` once the loop asked for the next (the
acknowledgement is written). SIGTERM ends the loop normally; the client's close ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time

from session_client import Answered, AsyncSessionClient


async def work(options: argparse.Namespace) -> None:
    # A line at a time, each a write(2): a SIGKILL loses none.
    with open(options.log, "a", buffering=1) as log:  # noqa: ASYNC230 - before the loop runs
        async with AsyncSessionClient(options.api_url, [options.nats_url]) as client:
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGTERM, lambda: asyncio.ensure_future(client.aclose())
            )
            responses = client.responses(
                options.subject_id,
                group=options.group,
                ack_wait=options.ack_wait,
                max_in_flight=options.max_in_flight,
            )
            log.write(json.dumps({"started": os.getpid()}) + "\n")
            previous = None
            async with responses as items:
                async for item in items:
                    if previous is not None:
                        log.write(json.dumps({"acked": previous}) + "\n")
                    if options.io_ms:
                        await asyncio.sleep(options.io_ms / 1000)  # the handler's I/O
                    key = item.key if isinstance(item, Answered) else None
                    line = {"handled": key, "deliveries": item.deliveries, "at": time.time()}
                    log.write(json.dumps(line) + "\n")
                    previous = key


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("api_url", "nats_url", "subject_id", "group", "log"):
        parser.add_argument(name)
    parser.add_argument("--max-in-flight", type=int, default=8)
    parser.add_argument("--ack-wait", type=float, default=5.0)
    parser.add_argument("--io-ms", type=float, default=0.0)
    asyncio.run(work(parser.parse_args()))


if __name__ == "__main__":
    main()
