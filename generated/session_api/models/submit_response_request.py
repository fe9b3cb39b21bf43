from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.json_object import JsonObject


T = TypeVar("T", bound="SubmitResponseRequest")


@_attrs_define
class SubmitResponseRequest:
    response: JsonObject
    """ Any JSON object. """
    responded_by: str | Unset = UNSET
    """ Who answered (a user name, an e-mail address, a channel's user id). """

    def to_dict(self) -> dict[str, Any]:
        response = self.response.to_dict()

        responded_by = self.responded_by

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "response": response,
            }
        )
        if responded_by is not UNSET:
            field_dict["responded_by"] = responded_by

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.json_object import JsonObject

        d = dict(src_dict)
        response = JsonObject.from_dict(d.pop("response"))

        responded_by = d.pop("responded_by", UNSET)

        submit_response_request = cls(
            response=response,
            responded_by=responded_by,
        )

        return submit_response_request
