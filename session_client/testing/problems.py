"""RFC 9457 problem details: how the reference server answers every error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

__all__ = ["Problem", "problem_response"]


class Problem(Exception):
    """An RFC 9457 problem to answer with."""

    def __init__(
        self, status: int, kind: str, title: str, detail: str = "", errors: list[Any] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.status, self.kind, self.title, self.detail, self.errors = (
            status,
            kind,
            title,
            detail,
            errors,
        )


def problem_response(
    problem: Problem, request_id: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Render ``problem`` as ``application/problem+json``."""
    body: dict[str, Any] = {
        "type": f"urn:session-api:{problem.kind}",
        "title": problem.title,
        "status": problem.status,
        "request_id": request_id,
    }
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    return JSONResponse(
        body, problem.status, headers=headers, media_type="application/problem+json"
    )
