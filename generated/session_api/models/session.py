from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.session_status import SessionStatus, check_session_status

if TYPE_CHECKING:
    from ..models.json_object import JsonObject


T = TypeVar("T", bound="Session")


@_attrs_define
class Session:
    session_id: str
    """ An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`, starting with a
    letter or digit.
     """
    status: SessionStatus
    """ `ACTIVE` accepts messages; `FAILED` (rejected) and `EXPIRED` are terminal. """
    message_data: JsonObject
    """ Any JSON object. """
    message_data_template: JsonObject
    """ Any JSON object. """
    expiry_date: int | None
    subject_id: None | str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        status: str = self.status

        message_data = self.message_data.to_dict()

        message_data_template = self.message_data_template.to_dict()

        expiry_date: int | None
        expiry_date = self.expiry_date

        subject_id: None | str
        subject_id = self.subject_id

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "status": status,
                "message_data": message_data,
                "message_data_template": message_data_template,
                "expiry_date": expiry_date,
                "subject_id": subject_id,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.json_object import JsonObject

        d = dict(src_dict)
        session_id = d.pop("session_id")

        status = check_session_status(d.pop("status"))

        message_data = JsonObject.from_dict(d.pop("message_data"))

        message_data_template = JsonObject.from_dict(d.pop("message_data_template"))

        def _parse_expiry_date(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        expiry_date = _parse_expiry_date(d.pop("expiry_date"))

        def _parse_subject_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        subject_id = _parse_subject_id(d.pop("subject_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        session = cls(
            session_id=session_id,
            status=status,
            message_data=message_data,
            message_data_template=message_data_template,
            expiry_date=expiry_date,
            subject_id=subject_id,
            created_at=created_at,
            updated_at=updated_at,
        )

        session.additional_properties = d
        return session

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
