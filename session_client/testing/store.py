"""SQLite persistence of the reference session server (a file, or ``:memory:``)."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .contracts import json_bytes

__all__ = ["Conflict", "NotFound", "OutboxEntry", "SessionStore", "parse_rfc3339", "utc_now"]

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
    created_at TEXT NOT NULL,
    settled_seq INTEGER,
    settled_at TEXT,
    trace_context TEXT
);
CREATE INDEX IF NOT EXISTS messages_session ON messages (session_id, state);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (name, value) VALUES ('settled', 0);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    trace_context TEXT
);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    subject_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    dead_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
"""

# Created after _ADDED_COLUMNS exist, so a store file of an older version opens too.
_SETTLED_INDEX = "CREATE INDEX IF NOT EXISTS messages_settled ON messages (subject_id, settled_seq)"
# Columns added since the first version: (table, name, type).
_ADDED_COLUMNS = (
    ("messages", "settled_seq", "INTEGER"),
    ("messages", "settled_at", "TEXT"),
    ("messages", "trace_context", "TEXT"),
    ("outbox", "trace_context", "TEXT"),
    ("messages", "response_schema", "TEXT"),
    ("messages", "responded_by", "TEXT"),
)

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def utc_now() -> str:
    """The current time as an RFC 3339 UTC timestamp (fixed width, so it sorts as text)."""
    return _store_time(datetime.now(UTC))


def _store_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> str | None:
    """``text`` (an RFC 3339 date-time) as the store writes times, or ``None`` if it is none.

    The store's times are fixed-width UTC text, so they compare correctly as strings; any offset
    or precision a client sends is normalised to that form first.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zulu, sign, offset_h, offset_m = match.groups()[6:]
    try:
        # A leap second (:60) is legal RFC 3339; :59 only makes the bound a little earlier.
        moment = datetime(
            year,
            month,
            day,
            hour,
            minute,
            min(second, 59),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=_offset(zulu, sign, offset_h, offset_m),
        )
    except ValueError:  # day 31 of a 30-day month, hour 24, offset +25:00 and the like
        return None
    try:
        return _store_time(moment)
    except OverflowError:  # beyond year 1..9999 in UTC: earlier or later than any stored time
        return "0000" if year < 2 else "9999-99"


def _offset(zulu: str | None, sign: str | None, hours: str | None, minutes: str | None) -> timezone:
    if zulu is not None or sign is None or hours is None or minutes is None:
        return UTC
    if int(minutes) > 59:
        raise ValueError(f"offset minutes {minutes} out of range")
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)  # raises ValueError from 24 h on


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
        "response_schema": _loaded(row["response_schema"]),
        "response": json.loads(row["response"]) if row["response"] is not None else None,
        "responded_by": row["responded_by"],
        "responded_at": row["responded_at"],
        "created_at": row["created_at"],
    }


def _loaded(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


@dataclass(frozen=True)
class OutboxEntry:
    """One NATS message still to publish: ``payload`` (JSON text) on ``subject_id``'s subject,
    in the trace of ``trace_context`` (W3C Trace Context headers) if it has one."""

    seq: int
    subject_id: str
    payload: str
    msg_id: str
    trace_context: dict[str, str] | None = None


def _fill_page(
    rows: Iterable[sqlite3.Row],
    render: Callable[[sqlite3.Row], dict[str, Any]],
    limit: int,
    max_bytes: int,
) -> tuple[list[sqlite3.Row], list[dict[str, Any]], bool]:
    """The first rows of ``rows`` (read lazily), rendered, while they are at most ``limit`` and
    their items' JSON at most ``max_bytes`` (never fewer than one), and whether more follow."""
    kept: list[sqlite3.Row] = []
    items: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        item = render(row)
        size += json_bytes(item) + 1  # and its comma
        if len(items) == limit or (items and size > max_bytes):
            return kept, items, True
        kept.append(row)
        items.append(item)
    return kept, items, False


def _encode_cursor(seq: int) -> str:
    # Any string the contract's PageCursor pattern admits decodes, so no valid cursor is refused.
    return format(seq, "x")


def _decode_cursor(cursor: str) -> int:
    return int(cursor, 16)


class SessionStore:
    """Sessions, messages (with their settle order), the NATS outbox and idempotency records.

    Not thread-safe: one event loop owns it.
    """

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)
        self._add_missing_columns()
        self._db.execute(_SETTLED_INDEX)
        self._savepoints = itertools.count()

    def _add_missing_columns(self) -> None:
        # A store file written by an older version lacks the columns added since.
        for table, name, kind in _ADDED_COLUMNS:
            present = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if name not in present:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around the block: all of its writes, or none (nestable)."""
        name = f"sp{next(self._savepoints)}"
        self._db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")
            raise
        self._db.execute(f"RELEASE {name}")

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
        self,
        *,
        status: str | None,
        subject_id: str | None,
        limit: int,
        cursor: str | None,
        max_bytes: int,
    ) -> dict[str, Any]:
        """One page of sessions in creation order after the (validated) ``cursor``: at most
        ``limit`` of them, and at most ``max_bytes`` of JSON (but at least one)."""
        clauses = ["seq > ?"]
        params: list[int | str] = [_decode_cursor(cursor) if cursor else 0]
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if subject_id is not None:
            clauses.append("subject_id = ?")
            params.append(subject_id)
        rows, items, more = _fill_page(
            self._db.execute(
                f"SELECT * FROM sessions WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ?",
                (*params, limit + 1),
            ),
            _session_row,
            limit,
            max_bytes,
        )
        return {
            "items": items,
            "next_cursor": _encode_cursor(rows[-1]["seq"]) if more else None,
        }

    def inbox_sessions(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` sessions for the dev inbox, each with its ``messages`` (oldest first):
        sessions with an unanswered (``SENT``) message first, newest first within each group."""
        rows = self._db.execute(
            "SELECT *, EXISTS (SELECT 1 FROM messages WHERE messages.session_id ="
            " sessions.session_id AND state = 'SENT') AS pending"
            " FROM sessions ORDER BY pending DESC, seq DESC LIMIT ?",
            (limit,),
        ).fetchall()
        sessions = {row["session_id"]: {**_session_row(row), "messages": []} for row in rows}
        if sessions:
            marks = ", ".join("?" * len(sessions))
            for row in self._db.execute(
                f"SELECT * FROM messages WHERE session_id IN ({marks}) ORDER BY rowid",
                tuple(sessions),
            ):
                sessions[row["session_id"]]["messages"].append(_message_row(row))
        return list(sessions.values())

    def change_count(self) -> int:
        """A count that grows with every write: the inbox refetches only when it moved."""
        return self._db.total_changes

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
        now = utc_now()
        open_ids = [
            row["message_id"]
            for row in self._db.execute(
                "SELECT message_id FROM messages WHERE session_id = ? AND state = 'SENT'"
                " ORDER BY rowid",
                (session_id,),
            )
        ]
        with self.atomic():
            self._db.execute(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE session_id = ?",
                (status, now, session_id),
            )
            for message_id in open_ids:  # one settle sequence number each
                self._db.execute(
                    "UPDATE messages SET state = ?, settled_seq = ?, settled_at = ?"
                    " WHERE message_id = ?",
                    (message_state, self._next_settled_seq(), now, message_id),
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
        self,
        session_id: str,
        channel_id: str,
        message: str,
        subject_id: str | None,
        message_id: str | None = None,
        trace_context: dict[str, str] | None = None,
        response_schema: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record a new ``SENT`` message, named ``message_id`` or by the server, kept with the
        ``trace_context`` it was sent in and the ``response_schema`` its answer must match."""
        message_id = message_id or f"msg_{uuid.uuid4().hex}"
        self._db.execute(
            "INSERT INTO messages (message_id, session_id, channel_id, message, subject_id, state,"
            " created_at, trace_context, response_schema) VALUES (?, ?, ?, ?, ?, 'SENT', ?, ?, ?)",
            (
                message_id,
                session_id,
                channel_id,
                message,
                subject_id,
                utc_now(),
                json.dumps(trace_context) if trace_context else None,
                json.dumps(response_schema) if response_schema is not None else None,
            ),
        )
        return self.get_message(session_id, message_id)

    def find_message(self, message_id: str) -> dict[str, Any] | None:
        """The message with that id, in whichever session, or ``None``."""
        row = self._db.execute(
            "SELECT * FROM messages WHERE message_id = ?", (message_id,)
        ).fetchone()
        return _message_row(row) if row is not None else None

    def trace_context(self, message_id: str) -> dict[str, str] | None:
        """The trace context the message was sent in, if it came with one."""
        row = self._db.execute(
            "SELECT trace_context FROM messages WHERE message_id = ?", (message_id,)
        ).fetchone()
        return _loaded(row["trace_context"]) if row is not None else None

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
        self,
        session_id: str,
        message_id: str,
        response: dict[str, Any],
        responded_by: str | None = None,
    ) -> dict[str, Any]:
        """Store the answer of a ``SENT`` message (and who gave it); raises :class:`Conflict`
        otherwise."""
        message = self.get_message(session_id, message_id)
        if message["state"] != "SENT":
            raise Conflict(
                "message-closed", f"message {message_id!r} is {message['state']}, not SENT"
            )
        now = utc_now()
        with self.atomic():
            self._db.execute(
                "UPDATE messages SET state = 'ANSWERED', response = ?, responded_by = ?,"
                " responded_at = ?, settled_seq = ?, settled_at = ? WHERE message_id = ?",
                (
                    json.dumps(response),
                    responded_by,
                    now,
                    self._next_settled_seq(),
                    now,
                    message_id,
                ),
            )
        return self.get_message(session_id, message_id)

    def list_messages(
        self, session_id: str, *, limit: int, cursor: str | None, max_bytes: int
    ) -> dict[str, Any]:
        """One page of the session's messages in the order they were sent (``MessagePage``),
        after the (validated) ``cursor``: at most ``limit`` of them, and at most ``max_bytes``
        of JSON (but at least one). Raises :class:`NotFound` for an unknown session."""
        self.get_session(session_id)
        rows, items, more = _fill_page(
            self._db.execute(
                "SELECT rowid AS seq, * FROM messages WHERE session_id = ? AND rowid > ?"
                " ORDER BY rowid LIMIT ?",
                (session_id, _decode_cursor(cursor) if cursor else 0, limit + 1),
            ),
            _message_row,
            limit,
            max_bytes,
        )
        return {
            "items": items,
            "next_cursor": _encode_cursor(rows[-1]["seq"]) if more else None,
        }

    def _next_settled_seq(self) -> int:
        # A counter row, not MAX(settled_seq)+1: numbers stay unique and increasing for ever.
        row = self._db.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'settled' RETURNING value"
        ).fetchone()
        return int(row[0])

    def list_settled(
        self, subject_id: str, *, since: str | None, cursor: str | None, limit: int, max_bytes: int
    ) -> dict[str, Any]:
        """One page of ``subject_id``'s settled messages in settle order (``SettledMessagePage``):
        at most ``limit`` of them, and at most ``max_bytes`` of JSON (but at least one).

        ``cursor`` (a previous ``next_cursor``) wins over ``since`` (a time from
        :func:`parse_rfc3339`); with neither, the page starts at the first settled message.
        """
        params: list[int | str]
        if cursor is not None:
            where, params = "settled_seq > ?", [_decode_cursor(cursor)]
        elif since is not None:
            where, params = "settled_seq IS NOT NULL AND settled_at >= ?", [since]
        else:
            where, params = "settled_seq IS NOT NULL", []
        page, items, more = _fill_page(
            self._db.execute(
                f"SELECT * FROM messages WHERE subject_id = ? AND {where} ORDER BY settled_seq"
                " LIMIT ?",
                (subject_id, *params, limit + 1),
            ),
            _message_row,
            limit,
            max_bytes,
        )
        return {
            "items": items,
            "next_cursor": self._settled_cursor(page, cursor),
            "has_more": more,
        }

    def _settled_cursor(self, page: list[sqlite3.Row], cursor: str | None) -> str:
        if page:
            return _encode_cursor(page[-1]["settled_seq"])
        if cursor is not None:
            return cursor
        # Nothing matched: resume from now, i.e. after everything settled so far ("0": nothing).
        row = self._db.execute("SELECT value FROM counters WHERE name = 'settled'").fetchone()
        return _encode_cursor(int(row[0]))

    def count_messages(self) -> int:
        """How many messages were ever recorded (tests use it to prove no duplicates)."""
        return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    # -- outbox -----------------------------------------------------------------------------

    def add_outbox(
        self,
        subject_id: str,
        payload: dict[str, Any],
        msg_id: str,
        trace_context: dict[str, str] | None = None,
    ) -> None:
        """Queue ``payload`` for publishing on ``subject_id``'s subject (``Nats-Msg-Id`` msg_id),
        in the trace of ``trace_context``."""
        self._db.execute(
            "INSERT INTO outbox (subject_id, payload, msg_id, trace_context) VALUES (?, ?, ?, ?)",
            (
                subject_id,
                json.dumps(payload, separators=(",", ":")),
                msg_id,
                json.dumps(trace_context) if trace_context else None,
            ),
        )

    def outbox_batch(self, limit: int) -> list[OutboxEntry]:
        """The oldest ``limit`` queued entries, oldest first."""
        rows = self._db.execute(
            "SELECT seq, subject_id, payload, msg_id, trace_context FROM outbox ORDER BY seq"
            " LIMIT ?",
            (limit,),
        )
        return [
            OutboxEntry(
                row["seq"],
                row["subject_id"],
                row["payload"],
                row["msg_id"],
                _loaded(row["trace_context"]),
            )
            for row in rows
        ]

    def delete_outbox(self, seqs: list[int]) -> None:
        """Forget entries NATS has taken."""
        self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(seq,) for seq in seqs])

    def dead_letter(self, seq: int, reason: str) -> None:
        """Move the outbox entry ``seq``, which can never be published, to the dead letters
        (kept with ``reason``), so that the entries after it go on."""
        with self.atomic():
            self._db.execute(
                "INSERT INTO dead_letters (seq, subject_id, payload, msg_id, reason, dead_at)"
                " SELECT seq, subject_id, payload, msg_id, ?, ? FROM outbox WHERE seq = ?",
                (reason, utc_now(), seq),
            )
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` dead letters (without their payloads), newest first."""
        rows = self._db.execute(
            "SELECT msg_id, subject_id, reason, dead_at FROM dead_letters ORDER BY seq DESC"
            " LIMIT ?",
            (limit,),
        )
        return [dict(row) for row in rows]

    def outbox_size(self) -> int:
        """How many entries wait to be published."""
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

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
