from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.message_state import MessageState, check_message_state
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.message_response_schema_type_0 import MessageResponseSchemaType0
    from ..models.message_response_type_0 import MessageResponseType0


T = TypeVar("T", bound="Message")


@_attrs_define
class Message:
    message_id: str
    """ An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`, starting with a
    letter or digit.
     """
    session_id: str
    """ An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`, starting with a
    letter or digit.
     """
    channel_id: str
    """ An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`, starting with a
    letter or digit.
     """
    message: str
    subject_id: None | str
    """ The subject the answer is published for, or `null` if none. """
    state: MessageState
    """ `SENT` awaits an answer; `ANSWERED` has one; `CANCELLED` and `EXPIRED` will never have one
    because their session was rejected or expired.
     """
    response: MessageResponseType0 | None
    """ The human's answer, once `ANSWERED`; it matches `response_schema`. """
    responded_at: datetime.datetime | None
    created_at: datetime.datetime
    response_schema: MessageResponseSchemaType0 | None | Unset = UNSET
    """ The JSON Schema the answer must match (`sendMessage`), or `null` for any object.
    Absent from servers older than typed answers.
     """
    responded_by: None | str | Unset = UNSET
    """ Who answered, as `submitResponse` named them, or `null`. Absent from servers older
    than typed answers.
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.message_response_schema_type_0 import MessageResponseSchemaType0
        from ..models.message_response_type_0 import MessageResponseType0

        message_id = self.message_id

        session_id = self.session_id

        channel_id = self.channel_id

        message = self.message

        subject_id: None | str
        subject_id = self.subject_id

        state: str = self.state

        response: dict[str, Any] | None
        if isinstance(self.response, MessageResponseType0):
            response = self.response.to_dict()
        else:
            response = self.response

        responded_at: None | str
        if isinstance(self.responded_at, datetime.datetime):
            responded_at = self.responded_at.isoformat()
        else:
            responded_at = self.responded_at

        created_at = self.created_at.isoformat()

        response_schema: dict[str, Any] | None | Unset
        if isinstance(self.response_schema, Unset):
            response_schema = UNSET
        elif isinstance(self.response_schema, MessageResponseSchemaType0):
            response_schema = self.response_schema.to_dict()
        else:
            response_schema = self.response_schema

        responded_by: None | str | Unset
        if isinstance(self.responded_by, Unset):
            responded_by = UNSET
        else:
            responded_by = self.responded_by

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message_id": message_id,
                "session_id": session_id,
                "channel_id": channel_id,
                "message": message,
                "subject_id": subject_id,
                "state": state,
                "response": response,
                "responded_at": responded_at,
                "created_at": created_at,
            }
        )
        if response_schema is not UNSET:
            field_dict["response_schema"] = response_schema
        if responded_by is not UNSET:
            field_dict["responded_by"] = responded_by

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.message_response_schema_type_0 import MessageResponseSchemaType0
        from ..models.message_response_type_0 import MessageResponseType0

        d = dict(src_dict)
        message_id = d.pop("message_id")

        session_id = d.pop("session_id")

        channel_id = d.pop("channel_id")

        message = d.pop("message")

        def _parse_subject_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        subject_id = _parse_subject_id(d.pop("subject_id"))

        state = check_message_state(d.pop("state"))

        def _parse_response(data: object) -> MessageResponseType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_type_0 = MessageResponseType0.from_dict(data)

                return response_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MessageResponseType0 | None, data)

        response = _parse_response(d.pop("response"))

        def _parse_responded_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                responded_at_type_0 = datetime.datetime.fromisoformat(data)

                return responded_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        responded_at = _parse_responded_at(d.pop("responded_at"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_response_schema(
            data: object,
        ) -> MessageResponseSchemaType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_schema_type_0 = MessageResponseSchemaType0.from_dict(data)

                return response_schema_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MessageResponseSchemaType0 | None | Unset, data)

        response_schema = _parse_response_schema(d.pop("response_schema", UNSET))

        def _parse_responded_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        responded_by = _parse_responded_by(d.pop("responded_by", UNSET))

        message = cls(
            message_id=message_id,
            session_id=session_id,
            channel_id=channel_id,
            message=message,
            subject_id=subject_id,
            state=state,
            response=response,
            responded_at=responded_at,
            created_at=created_at,
            response_schema=response_schema,
            responded_by=responded_by,
        )

        message.additional_properties = d
        return message

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
