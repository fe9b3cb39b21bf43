from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SendMessageRequest")


@_attrs_define
class SendMessageRequest:
    channel_id: str
    """ An identifier: 1 to 128 characters of `A-Z a-z 0-9 _ . : @ + = ~ -`, starting with a
    letter or digit.
     """
    message: str
    subject_id: None | str | Unset = UNSET
    """ The subject to publish the answer for; defaults to the session's. """

    def to_dict(self) -> dict[str, Any]:
        channel_id = self.channel_id

        message = self.message

        subject_id: None | str | Unset
        if isinstance(self.subject_id, Unset):
            subject_id = UNSET
        else:
            subject_id = self.subject_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "channel_id": channel_id,
                "message": message,
            }
        )
        if subject_id is not UNSET:
            field_dict["subject_id"] = subject_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        channel_id = d.pop("channel_id")

        message = d.pop("message")

        def _parse_subject_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        subject_id = _parse_subject_id(d.pop("subject_id", UNSET))

        send_message_request = cls(
            channel_id=channel_id,
            message=message,
            subject_id=subject_id,
        )

        return send_message_request
