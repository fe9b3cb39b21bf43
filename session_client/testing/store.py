"""SQLite persistence of the reference session server (a file, or ``:memory:``)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = ["Conflict", "NotFound", "SessionStore", "utc_now"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT UNIQUE NOT NULL,
    status TEXT NOT NULL,
    message_data TEXT NOT NULL,
    message_data_template TEXT NOT NULL,
    expiry_date INTEGER,
    subject_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (status, expiry_date);
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (session_id),
    channel_id TEXT NOT NULL,
    message TEXT NOT NULL,
    subject_id TEXT,
    state TEXT NOT NULL,
    response TEXT,
    responded_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_session ON messages (session_id, state);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
"""


def utc_now() -> str:
    """The current time as an RFC 3339 UTC timestamp."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class NotFound(Exception):
    """The session or message does not exist."""


class Conflict(Exception):
    """The operation conflicts with the stored state; ``kind`` names the problem type."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _session_row(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "session_id": row["session_id"],
        "status": row["status"],
        "message_data": json.loads(row["message_data"]),
        "message_data_template": json.loads(row["message_data_template"]),
        "expiry_date": row["expiry_date"],
        "subject_id": row["subject_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _message_row(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "message_id": row["message_id"],
        "session_id": row["session_id"],
        "channel_id": row["channel_id"],
        "message": row["message"],
        "subject_id": row["subject_id"],
        "state": row["state"],
        "response": json.loads(row["response"]) if row["response"] is not None else None,
        "responded_at": row["responded_at"],
        "created_at": row["created_at"],
    }


def _encode_cursor(seq: int) -> str:
    # Any string the contract's PageCursor pattern admits decodes, so no valid cursor is refused.
    return format(seq, "x")


def _decode_cursor(cursor: str) -> int:
    return int(cursor, 16)


class SessionStore:
    """Sessions, messages and idempotency records. Not thread-safe: one event loop owns it."""

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- sessions ---------------------------------------------------------------------------

    def find_session(self, session_id: str) -> dict[str, Any] | None:
        """The session, or ``None``."""
        row = self._db.execute(
            "SELECT * FROM sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        return _session_row(row) if row is not None else None

    def get_session(self, session_id: str) -> dict[str, Any]:
        """The session; raises :class:`NotFound`."""
        session = self.find_session(session_id)
        if session is None:
            raise NotFound(f"session {session_id!r} does not exist")
        return session

    def insert_session(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Insert a new ``ACTIVE`` session built from validated request ``fields``."""
        now = utc_now()
        self._db.execute(
            "INSERT INTO sessions (session_id, status, message_data, message_data_template,"
            " expiry_date, subject_id, created_at, updated_at)"
            " VALUES (?, 'ACTIVE', ?, ?, ?, ?, ?, ?)",
            (
                fields["session_id"],
                json.dumps(fields["message_data"]),
                json.dumps(fields["message_data_template"]),
                fields["expiry_date"],
                fields["subject_id"],
                now,
                now,
            ),
        )
        return self.get_session(fields["session_id"])

    def list_sessions(
        self, *, status: str | None, subject_id: str | None, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        """One page of sessions in creation order after the (validated) ``cursor``."""
        clauses = ["seq > ?"]
        params: list[int | str] = [_decode_cursor(cursor) if cursor else 0]
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if subject_id is not None:
            clauses.append("subject_id = ?")
            params.append(subject_id)
        rows = self._db.execute(
            f"SELECT * FROM sessions WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ?",
            (*params, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [_session_row(row) for row in rows],
            "next_cursor": _encode_cursor(rows[-1]["seq"]) if more else None,
        }

    def close_session(self, session_id: str, status: str) -> list[str]:
        """Move an ``ACTIVE`` session to ``status`` (FAILED/EXPIRED) with its open messages.

        Returns the distinct subjects that may have a waiter: the session's and those of its
        unanswered messages.
        """
        message_state = "CANCELLED" if status == "FAILED" else "EXPIRED"
        session = self.get_session(session_id)
        subjects = {
            row["subject_id"]
            for row in self._db.execute(
                "SELECT DISTINCT subject_id FROM messages WHERE session_id = ? AND state = 'SENT'",
                (session_id,),
            )
        }
        subjects.add(session["subject_id"])
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE session_id = ?",
                (status, utc_now(), session_id),
            )
            self._db.execute(
                "UPDATE messages SET state = ? WHERE session_id = ? AND state = 'SENT'",
                (message_state, session_id),
            )
        return sorted(subject for subject in subjects if subject is not None)

    def expirable_session_ids(self, now: int) -> list[str]:
        """Ids of ``ACTIVE`` sessions whose ``expiry_date`` is at or before ``now``."""
        rows = self._db.execute(
            "SELECT session_id FROM sessions WHERE status = 'ACTIVE' AND expiry_date IS NOT NULL"
            " AND expiry_date <= ? ORDER BY seq",
            (now,),
        )
        return [row["session_id"] for row in rows]

    # -- messages ---------------------------------------------------------------------------

    def insert_message(
        self, session_id: str, channel_id: str, message: str, subject_id: str | None
    ) -> dict[str, Any]:
        """Record a new ``SENT`` message."""
        message_id = f"msg_{uuid.uuid4().hex}"
        self._db.execute(
            "INSERT INTO messages (message_id, session_id, channel_id, message, subject_id, state,"
            " created_at) VALUES (?, ?, ?, ?, ?, 'SENT', ?)",
            (message_id, session_id, channel_id, message, subject_id, utc_now()),
        )
        return self.get_message(session_id, message_id)

    def get_message(self, session_id: str, message_id: str) -> dict[str, Any]:
        """The message of that session; raises :class:`NotFound`."""
        row = self._db.execute(
            "SELECT * FROM messages WHERE message_id = ? AND session_id = ?",
            (message_id, session_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"message {message_id!r} of session {session_id!r} does not exist")
        return _message_row(row)

    def answer_message(
        self, session_id: str, message_id: str, response: dict[str, Any]
    ) -> dict[str, Any]:
        """Store the answer of a ``SENT`` message; raises :class:`Conflict` otherwise."""
        message = self.get_message(session_id, message_id)
        if message["state"] != "SENT":
            raise Conflict(
                "message-closed", f"message {message_id!r} is {message['state']}, not SENT"
            )
        self._db.execute(
            "UPDATE messages SET state = 'ANSWERED', response = ?, responded_at = ?"
            " WHERE message_id = ?",
            (json.dumps(response), utc_now(), message_id),
        )
        return self.get_message(session_id, message_id)

    def count_messages(self) -> int:
        """How many messages were ever recorded (tests use it to prove no duplicates)."""
        return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    # -- idempotency ------------------------------------------------------------------------

    def find_idempotent(self, scope: str, key: str) -> tuple[str, int, Any] | None:
        """The recorded ``(fingerprint, status, body)`` for ``key`` in ``scope``, if any."""
        row = self._db.execute(
            "SELECT fingerprint, status, body FROM idempotency WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is None:
            return None
        return row["fingerprint"], row["status"], json.loads(row["body"])

    def record_idempotent(
        self, scope: str, key: str, fingerprint: str, status: int, body: Any
    ) -> None:
        """Remember the first result for ``key`` in ``scope``."""
        self._db.execute(
            "INSERT OR IGNORE INTO idempotency (scope, key, fingerprint, status, body)"
            " VALUES (?, ?, ?, ?, ?)",
            (scope, key, fingerprint, status, json.dumps(body)),
        )
