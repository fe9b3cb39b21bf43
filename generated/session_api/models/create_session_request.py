from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.create_session_request_message_data import (
        CreateSessionRequestMessageData,
    )
    from ..models.create_session_request_message_data_template import (
        CreateSessionRequestMessageDataTemplate,
    )


T = TypeVar("T", bound="CreateSessionRequest")


@_attrs_define
class CreateSessionRequest:
    session_id: str
    """ An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`, starting with a
    letter or digit.
     """
    message_data: CreateSessionRequestMessageData | Unset = UNSET
    """ Initial message data for the session: at most 256 KiB as compact UTF-8 JSON (`413`).
     """
    message_data_template: CreateSessionRequestMessageDataTemplate | Unset = UNSET
    """ A JSON Schema that `message_data` must satisfy. The default, `{}`, accepts any payload.
    At most 64 KiB as compact UTF-8 JSON (`413`).
     """
    expiry_date: int | None | Unset = UNSET
    """ Unix time (seconds) after which `expireSessions` expires the session. """
    subject_id: None | str | Unset = UNSET
    """ The default subject for responses to this session's messages. """

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        message_data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.message_data, Unset):
            message_data = self.message_data.to_dict()

        message_data_template: dict[str, Any] | Unset = UNSET
        if not isinstance(self.message_data_template, Unset):
            message_data_template = self.message_data_template.to_dict()

        expiry_date: int | None | Unset
        if isinstance(self.expiry_date, Unset):
            expiry_date = UNSET
        else:
            expiry_date = self.expiry_date

        subject_id: None | str | Unset
        if isinstance(self.subject_id, Unset):
            subject_id = UNSET
        else:
            subject_id = self.subject_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "session_id": session_id,
            }
        )
        if message_data is not UNSET:
            field_dict["message_data"] = message_data
        if message_data_template is not UNSET:
            field_dict["message_data_template"] = message_data_template
        if expiry_date is not UNSET:
            field_dict["expiry_date"] = expiry_date
        if subject_id is not UNSET:
            field_dict["subject_id"] = subject_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.create_session_request_message_data import (
            CreateSessionRequestMessageData,
        )
        from ..models.create_session_request_message_data_template import (
            CreateSessionRequestMessageDataTemplate,
        )

        d = dict(src_dict)
        session_id = d.pop("session_id")

        _message_data = d.pop("message_data", UNSET)
        message_data: CreateSessionRequestMessageData | Unset
        if isinstance(_message_data, Unset):
            message_data = UNSET
        else:
            message_data = CreateSessionRequestMessageData.from_dict(_message_data)

        _message_data_template = d.pop("message_data_template", UNSET)
        message_data_template: CreateSessionRequestMessageDataTemplate | Unset
        if isinstance(_message_data_template, Unset):
            message_data_template = UNSET
        else:
            message_data_template = CreateSessionRequestMessageDataTemplate.from_dict(
                _message_data_template
            )

        def _parse_expiry_date(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        expiry_date = _parse_expiry_date(d.pop("expiry_date", UNSET))

        def _parse_subject_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        subject_id = _parse_subject_id(d.pop("subject_id", UNSET))

        create_session_request = cls(
            session_id=session_id,
            message_data=message_data,
            message_data_template=message_data_template,
            expiry_date=expiry_date,
            subject_id=subject_id,
        )

        return create_session_request
