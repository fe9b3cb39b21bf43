"""The NATS response-subject rules of ``asyncapi.yaml``, shared by client and local stack.

A template (default ``sessions.responses.{subject_id}``) names a subject's *subject-wide*
subject; the server publishes each answer and status event on its *session subject*, that
subject followed by one token for the session (:func:`session_subject`). A process subscribes
exactly to the sessions it waits for, so NATS, not the process, drops everyone else's answers;
``{subject}.*`` still receives every answer of the subject.
"""

from __future__ import annotations

import re

#: The default response subject template (``asyncapi.yaml``, channel ``sessionResponses``).
DEFAULT_SUBJECT_TEMPLATE = "sessions.responses.{subject_id}"

#: Legal ``subject_id`` values: dot-separated tokens, no whitespace, wildcards or empty tokens.
SUBJECT_ID_PATTERN = r"^[A-Za-z0-9_:@+=~-]+(\.[A-Za-z0-9_:@+=~-]+)*$"
SUBJECT_ID_MAX_LENGTH = 128

_SUBJECT_ID_RE = re.compile(SUBJECT_ID_PATTERN)
# A template may contain only legal tokens around the one placeholder.
_TEMPLATE_RE = re.compile(r"^([A-Za-z0-9_:@+=~-]+\.)*\{subject_id\}(\.[A-Za-z0-9_:@+=~-]+)*$")


def is_valid_subject_id(subject_id: object) -> bool:
    """Tell whether ``subject_id`` is a legal subject identifier per ``asyncapi.yaml``."""
    return (
        isinstance(subject_id, str)
        and len(subject_id) <= SUBJECT_ID_MAX_LENGTH
        # fullmatch, not match: ``$`` would accept a trailing newline.
        and _SUBJECT_ID_RE.fullmatch(subject_id) is not None
    )


def validate_subject_template(template: str) -> str:
    """Return ``template`` if it has exactly one ``{subject_id}`` and only legal tokens."""
    if not isinstance(template, str) or _TEMPLATE_RE.fullmatch(template) is None:
        raise ValueError(
            "subject template must be dot-separated literal tokens around exactly one "
            f"'{{subject_id}}' placeholder, got {template!r}"
        )
    return template


def response_subject(template: str, subject_id: str) -> str:
    """Build the response subject for ``subject_id`` from ``template``."""
    return template.replace("{subject_id}", subject_id)


def session_token(session_id: str) -> str:
    """``session_id`` as one NATS subject token: its dots (legal in ids, token separators in
    subjects) written as ``/`` (never part of an id), so distinct ids stay distinct tokens."""
    return session_id.replace(".", "/")


def session_subject(subject: str, session_id: str) -> str:
    """The subject the answers and status events of ``session_id`` are published on, for the
    response subject ``subject`` (``asyncapi.yaml``, channel ``sessionResponses``)."""
    return f"{subject}.{session_token(session_id)}"


def subject_wide(subject: str) -> str:
    """The subscription to every session subject of the response subject ``subject``."""
    return f"{subject}.*"


def stream_subject(template: str) -> str | None:
    """The JetStream subject filter covering every response subject of ``template``.

    Only a template whose placeholder is its last token can be covered (``prefix.>``), since a
    ``subject_id`` may itself contain dots.
    """
    prefix, _, suffix = template.partition("{subject_id}")
    return f"{prefix}>" if not suffix else None
