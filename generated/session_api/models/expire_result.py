from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="ExpireResult")


@_attrs_define
class ExpireResult:
    expired_count: int
    session_ids: list[str]

    def to_dict(self) -> dict[str, Any]:
        expired_count = self.expired_count

        session_ids = self.session_ids

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "expired_count": expired_count,
                "session_ids": session_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        expired_count = d.pop("expired_count")

        session_ids = cast(list[str], d.pop("session_ids"))

        expire_result = cls(
            expired_count=expired_count,
            session_ids=session_ids,
        )

        return expire_result
