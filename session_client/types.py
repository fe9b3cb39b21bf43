"""The shapes of what the clients return, as ``TypedDict``s kept equal to the contract
(``openapi.yaml`` and ``asyncapi.yaml``; ``tests/contract/test_result_types.py`` checks them).

At run time the methods return the plain dicts the server sent, so members a newer server adds
reach the caller unchanged; these types let ``mypy`` catch a misspelt key.
"""

from typing import Any, Generic, Literal, NotRequired, TypedDict, TypeVar

__all__ = [
    "ExpireResult",
    "Message",
    "MessagePage",
    "MessageState",
    "ModelResponsePayload",
    "QuorumResult",
    "ResponsePayload",
    "Session",
    "SessionPage",
    "SessionStatus",
    "SettledMessagePage",
]

SessionStatus = Literal["ACTIVE", "FAILED", "EXPIRED"]
MessageState = Literal["SENT", "ANSWERED", "CANCELLED", "EXPIRED"]


class Session(TypedDict):
    """A session, as ``create_session``, ``get_session`` and ``reject_session`` return it."""

    session_id: str
    status: SessionStatus
    message_data: dict[str, Any]
    message_data_template: dict[str, Any]
    expiry_date: int | None
    subject_id: str | None
    created_at: str
    updated_at: str


class SessionPage(TypedDict):
    """One page of ``list_sessions``."""

    items: list[Session]
    next_cursor: str | None


class Message(TypedDict):
    """A message, as ``send_message``, ``get_message`` and ``submit_response`` return it."""

    message_id: str
    session_id: str
    channel_id: str
    message: str
    subject_id: str | None
    state: MessageState
    # Absent from servers older than typed answers (issue 27).
    response_schema: NotRequired[dict[str, Any] | None]
    response: dict[str, Any] | None
    responded_by: NotRequired[str | None]
    responded_at: str | None
    created_at: str


class MessagePage(TypedDict):
    """One page of ``list_messages``: a session's record, oldest first."""

    items: list[Message]
    next_cursor: str | None


class SettledMessagePage(TypedDict):
    """One page of the settled messages of a subject (recovery)."""

    items: list[Message]
    next_cursor: str
    has_more: bool


class ExpireResult(TypedDict):
    """What ``expire_sessions`` returns."""

    expired_count: int
    session_ids: list[str]


class ResponsePayload(TypedDict):
    """The human's answer, as the waits return it (``asyncapi.yaml``'s ``ResponsePayload``)."""

    session_id: str
    message_id: str
    channel_id: str
    subject_id: str
    response: dict[str, Any]
    responded_by: NotRequired[str]
    responded_at: str


ModelT = TypeVar("ModelT")


class ModelResponsePayload(TypedDict, Generic[ModelT]):
    """What the waits return with ``response_schema=`` a pydantic model class: the
    ``ResponsePayload`` whose ``response`` is an instance of the model."""

    session_id: str
    message_id: str
    channel_id: str
    subject_id: str
    response: ModelT
    responded_by: NotRequired[str]
    responded_at: str


class QuorumResult(TypedDict):
    """What ``send_and_wait_for_quorum`` returns (the library's own, not a contract schema):
    ``answers``, the first ``quorum`` accepted answers (``ResponsePayload``s) in arrival
    order; ``extra``, accepted answers that arrived together with the last of those (a
    resumed call may find several at once); ``declined``, the answers ``accept`` refused;
    ``unanswered``, the ids of the messages still open (they are not cancelled)."""

    answers: list[ResponsePayload]
    extra: list[ResponsePayload]
    declined: list[ResponsePayload]
    unanswered: list[str]
