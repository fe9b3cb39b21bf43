"""The documented flow end to end against the embedded local stack (``make demo``).

Starts an embedded nats-server, the reference session server and a simulated human, then uses
``SessionClient`` exactly as the documentation shows.
"""

from __future__ import annotations

import json
import os
import time

from session_client import SessionClient, SessionRejectedError
from session_client.testing import LocalStack


def show(title: str, value: object) -> None:
    print(f"\n== {title}\n{json.dumps(value, indent=2)}")


def main() -> None:
    with LocalStack(respond_delay=0.5, auto_respond={"confirmed": True}) as stack:
        print(f"local stack: API {stack.api_url}, NATS {stack.nats_url}")
        # The client reads ORG_NATS_URL when nats_servers is not given, as documented.
        os.environ["ORG_NATS_URL"] = stack.nats_url
        with SessionClient(api_base_url=stack.api_url) as client:
            session = client.create_session(
                session_id="session123",
                message_data={"initial": "data"},
                expiry_date=int(time.time()) + 3600,
                subject_id="subjectXYZ",
            )
            show("Session created", session)

            print("\n== Sending a message and waiting for the human (answers in 0.5 s) ...")
            response = client.send_and_wait_for_response(
                session_id="session123",
                channel_id="channelABC",
                message="Please confirm your details.",
                subject_id="subjectXYZ",
                timeout=120,
            )
            show("Received response", response)

            show("Rejected session", client.reject_session("session123"))
            try:
                client.send_and_wait_for_response(
                    "session123", "channelABC", "Still there?", "subjectXYZ", timeout=5
                )
            except Exception as exc:  # the server refuses messages to a FAILED session
                print(f"\n== Sending to a rejected session fails: {type(exc).__name__}: {exc}")

            client.create_session("session-late", expiry_date=int(time.time()) - 1)
            show("Expired sessions", client.expire_sessions())

            stack.human.stay_silent()
            client.create_session("session-declined", subject_id="subjectXYZ")
            stack.human.reject_next(delay=0.2)
            try:
                client.send_and_wait_for_response(
                    "session-declined", "channelABC", "Approve?", "subjectXYZ", timeout=30
                )
            except SessionRejectedError as exc:
                print(f"\n== The human declined while we waited: {exc}")
    print("\ndemo finished: the local stack is stopped")


if __name__ == "__main__":
    main()
