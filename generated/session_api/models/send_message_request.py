from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.response_schema import ResponseSchema


T = TypeVar("T", bound="SendMessageRequest")


@_attrs_define
class SendMessageRequest:
    channel_id: str
    """ An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`, starting with a
    letter or digit.
     """
    message: str
    message_id: str | Unset = UNSET
    """ A client-chosen message id (`sendMessage`): an `Identifier`, unique per server. Make it
    collision-free (session_client_lib uses `msg_` and 32 hex digits: 48 bits of milliseconds
    and 80 random bits, so ids sort by creation time), or derive it from the application's
    own state so that re-running the same step names the same message.

    Waiting policies (session_client_lib) derive their messages' ids from the first one's:
    `{id}~r{n}` is its n-th reminder (same channel, text prefixed `Reminder: `), `{id}~e{n}`
    its n-th escalation (another channel), `{id}~q{n}` a quorum's message to its n-th
    channel. Servers need not know this; the dev inbox groups a message's follow-ups by it.
     """
    subject_id: None | str | Unset = UNSET
    """ The subject to publish the answer for; defaults to the session's. """
    response_schema: ResponseSchema | Unset = UNSET
    """ A JSON Schema (draft 2020-12) that the answer must match; it must accept objects only
    (no `type`, or `type: object`). At most 64 KiB as compact UTF-8 JSON (`413`).
     """

    def to_dict(self) -> dict[str, Any]:
        channel_id = self.channel_id

        message = self.message

        message_id = self.message_id

        subject_id: None | str | Unset
        if isinstance(self.subject_id, Unset):
            subject_id = UNSET
        else:
            subject_id = self.subject_id

        response_schema: dict[str, Any] | Unset = UNSET
        if not isinstance(self.response_schema, Unset):
            response_schema = self.response_schema.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "channel_id": channel_id,
                "message": message,
            }
        )
        if message_id is not UNSET:
            field_dict["message_id"] = message_id
        if subject_id is not UNSET:
            field_dict["subject_id"] = subject_id
        if response_schema is not UNSET:
            field_dict["response_schema"] = response_schema

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.response_schema import ResponseSchema

        d = dict(src_dict)
        channel_id = d.pop("channel_id")

        message = d.pop("message")

        message_id = d.pop("message_id", UNSET)

        def _parse_subject_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        subject_id = _parse_subject_id(d.pop("subject_id", UNSET))

        _response_schema = d.pop("response_schema", UNSET)
        response_schema: ResponseSchema | Unset
        if isinstance(_response_schema, Unset):
            response_schema = UNSET
        else:
            response_schema = ResponseSchema.from_dict(_response_schema)

        send_message_request = cls(
            channel_id=channel_id,
            message=message,
            message_id=message_id,
            subject_id=subject_id,
            response_schema=response_schema,
        )

        return send_message_request
