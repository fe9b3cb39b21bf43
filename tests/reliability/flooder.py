"""A hostile NATS client: floods response subjects with junk, forged and duplicated payloads.

Run as ``python -m tests.reliability.flooder URL SECONDS SPEC`` where SPEC is a JSON object
``{"subjects": [...], "sessions": [...]}``; prints one JSON line of counts when done.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter

import nats
from nats.aio.msg import Msg


def payloads(sessions: list[str]) -> list[tuple[str, bytes]]:
    """One of each kind of small hostile payload, by kind."""
    other = {
        "session_id": "not-a-waiter",
        "message_id": "msg_forged",
        "channel_id": "chan",
        "subject_id": "x",
        "response": {"forged": True},
        "responded_at": "2026-01-01T00:00:00Z",
    }
    kinds = [
        ("non_json", b"\xff\xfe{not json"),
        ("non_json", b'{"session_id": '),
        ("non_object", b"[1, 2, 3]"),
        ("non_object", b"42"),
        ("non_object", b'"a string"'),
        ("non_object", b"null"),
        ("deep_nesting", b"[" * 100_000),
        ("wrong_session", json.dumps(other).encode()),
    ]
    for session_id in sessions:
        # Right session, but not its answer: a message id that is no string, or another one.
        forged = {**other, "session_id": session_id}
        kinds.append(("forged_message_id", json.dumps({**forged, "message_id": 123}).encode()))
        kinds.append(("forged_message_id", json.dumps(forged).encode()))
    return kinds


async def flood(url: str, seconds: float, subjects: list[str], sessions: list[str]) -> Counter[str]:
    """Publish hostile payloads for ``seconds``; re-publish every real answer seen 3 times."""
    sent: Counter[str] = Counter()
    nc = await nats.connect(url)

    seen: set[bytes] = set()

    async def duplicate(msg: Msg) -> None:
        if b'"echo"' in msg.data and msg.data not in seen:  # a real answer, first time
            seen.add(msg.data)
            for _ in range(3):
                await nc.publish(msg.subject, msg.data)
            sent["duplicate"] += 3

    for subject in subjects:
        await nc.subscribe(subject, cb=duplicate)
    kinds = payloads(sessions)
    huge = json.dumps({"pad": "x" * (nc.max_payload - 100)}).encode()
    deadline = time.monotonic() + seconds
    for n, ((kind, data), subject) in enumerate(
        zip(itertools.cycle(kinds), itertools.cycle(subjects), strict=False)
    ):
        if time.monotonic() > deadline:
            break
        if n % 1000 == 0:  # near max_payload: few, or their bytes would dominate the flood
            await nc.publish(subject, huge)
            sent["huge"] += 1
        await nc.publish(subject, data)
        sent[kind] += 1
        if n % 50 == 0:
            await nc.flush()
    await nc.flush()
    await nc.close()
    return sent


def main() -> None:
    """Entry point: flood, then print the counts."""
    url, seconds, spec = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    sent = asyncio.run(flood(url, seconds, spec["subjects"], spec["sessions"]))
    print(json.dumps(sent))


if __name__ == "__main__":
    main()
