"""The reference server's HTTP layer: routing, validation, problems, auth and idempotency."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..answer_schemas import schema_problem
from ._tracing import ServerTracing, TracingMiddleware
from .contracts import ContractValidator, json_bytes
from .guard import BrowserGuardMiddleware
from .inbox import inbox_routes
from .problems import Problem, problem_response
from .service import InvalidAnswer, SessionService
from .store import Conflict, NotFound, parse_rfc3339

__all__ = ["create_app"]

Handler = Callable[[Request], Awaitable[Response]]

#: Request bodies larger than this are refused (413) before they are read in full: the
#: contract's ``x-max-json-bytes`` bounds leave room for escapes (see openapi.yaml's Limits).
MAX_BODY_BYTES = 8 * 1024 * 1024
#: What a page's JSON beside its items may take (keys, ``next_cursor``, ``has_more``).
_PAGE_ENVELOPE_BYTES = 1024


class RequestIdMiddleware:
    """Gives every request an id, exposed as ``scope['request_id']`` and ``X-Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{uuid.uuid4().hex[:16]}"
        scope["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def by_method(**handlers: Handler) -> Handler:
    """Dispatch to the handler of the request's method (the route restricts the methods)."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return dispatch


def _media_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value.split(";")[0].strip().lower() if value is not None else None


def _unsupported_media_type(detail: str) -> Problem:
    return Problem(415, "unsupported-media-type", "Unsupported Media Type", detail)


#: What an HTML form can send, from any site, without a CORS preflight.
_FORM_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_form(request: Request) -> None:
    """Refuse a body-less POST that comes as a browser's form (a cross-site one too); clients
    of the API send no body type, JSON, or (some HTTP stacks) ``application/octet-stream``."""
    media_type = _media_type(request)
    if media_type in _FORM_TYPES:
        raise _unsupported_media_type(f"{media_type} is not accepted; send application/json")


async def read_body(request: Request) -> bytes:
    """The request body, up to :data:`MAX_BODY_BYTES` (a 413 beyond, without reading it all)."""
    too_large = Problem(
        413, "payload-too-large", "Content Too Large", f"the body exceeds {MAX_BODY_BYTES} bytes"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """``raw`` as JSON, refused (422) unless it is JSON of valid Unicode: a lone surrogate such
    as ``"\\ud800"`` parses, but could never be written out again, so nothing stores it."""
    try:
        body = json.loads(raw)
        json_bytes(body)
    except UnicodeEncodeError as exc:
        raise Problem(
            422,
            "validation-error",
            "Unprocessable Content",
            "the body holds a lone surrogate (a \\ud800-\\udfff escape without its pair),"
            " which is not Unicode text",
        ) from exc
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, nesting
        raise Problem(
            422, "validation-error", "Unprocessable Content", f"invalid JSON: {exc}"
        ) from exc
    return body


def _fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def create_app(
    service: SessionService,
    *,
    api_token: str | None = None,
    inbox_remote: bool = False,
    tracing: ServerTracing | None = None,
    allowed_hosts: Collection[str] = (),
) -> Starlette:
    """The ASGI app serving every operation of ``openapi.yaml`` on top of ``service``, in the
    trace of each request (``tracing``: default the global tracer's, if any), and the dev inbox
    (:mod:`.inbox`; to loopback clients only unless ``inbox_remote``). Requests must name a
    loopback host or one of ``allowed_hosts`` (``"*"``: any), and web pages of other origins
    cannot change anything (:class:`BrowserGuardMiddleware`)."""
    contract = ContractValidator()

    session_page_bytes = contract.max_json_bytes("SessionPage") - _PAGE_ENVELOPE_BYTES
    message_page_bytes = contract.max_json_bytes("MessagePage") - _PAGE_ENVELOPE_BYTES
    settled_page_bytes = contract.max_json_bytes("SettledMessagePage") - _PAGE_ENVELOPE_BYTES

    def check(schema: str, value: object, location: str) -> None:
        status, errors = contract.problems(schema, value, location)
        if status == 413:
            raise Problem(413, "payload-too-large", "Content Too Large", errors=errors)
        if errors:
            raise Problem(422, "validation-error", "Unprocessable Content", errors=errors)

    async def json_body(request: Request, schema: str) -> dict[str, Any]:
        if _media_type(request) != "application/json":
            raise _unsupported_media_type("send the body as application/json")
        body = parse_json(await read_body(request))
        check(schema, body, "body")
        assert isinstance(body, dict)  # every request schema is an object
        return body

    def path_ids(request: Request) -> tuple[str, ...]:
        values = tuple(request.path_params.values())
        for name, value in request.path_params.items():
            check("Identifier", value, f"path.{name}")
        return values

    def page_cursor(request: Request) -> str | None:
        cursor = request.query_params.get("cursor")
        if cursor is not None:
            check("PageCursor", cursor, "query.cursor")
        return cursor

    def page_limit(request: Request) -> int:
        text = request.query_params.get("limit", "100")
        limit = int(text) if text.isascii() and text.isdigit() else text
        check("PageLimit", limit, "query.limit")
        assert isinstance(limit, int)
        return limit

    def settled_since(request: Request) -> str | None:
        text = request.query_params.get("settled_since")
        if text is None:
            return None
        since = parse_rfc3339(text)
        if since is None:
            raise Problem(
                422,
                "validation-error",
                "Unprocessable Content",
                errors=[
                    {
                        "location": "query.settled_since",
                        "path": "/",
                        "message": f"{text!r} is not an RFC 3339 date-time",
                    }
                ],
            )
        return since

    def idempotency_key(request: Request) -> str | None:
        key = request.headers.get("idempotency-key")
        if key is not None:
            check("IdempotencyKey", key, "header.Idempotency-Key")
        return key

    def endpoint(handler: Handler, *, public: bool = False) -> Handler:
        async def wrapped(request: Request) -> Response:
            request_id: str = request.scope.get("request_id", "")
            try:
                if not public and api_token is not None:
                    supplied = request.headers.get("authorization", "")
                    if not hmac.compare_digest(supplied.encode(), f"Bearer {api_token}".encode()):
                        raise Problem(
                            401, "unauthorized", "Unauthorized", "a valid bearer token is required"
                        )
                return await handler(request)
            except Problem as problem:
                return problem_response(problem, request_id)
            except NotFound as exc:
                return problem_response(
                    Problem(404, "not-found", "Not Found", str(exc)), request_id
                )
            except Conflict as exc:
                return problem_response(Problem(409, exc.kind, "Conflict", exc.detail), request_id)
            except InvalidAnswer as exc:
                # Pointers into the request body, as every 422 of the API gives them.
                errors = [
                    {
                        "location": "body",
                        "path": f"/response{error['path']}",
                        "message": error["message"],
                    }
                    for error in exc.errors
                ]
                refused = Problem(422, "invalid-answer", "Unprocessable Content", str(exc), errors)
                return problem_response(refused, request_id)

        return wrapped

    def idempotent(
        request: Request, body: dict[str, Any] | None, run: Callable[[], tuple[int, Any]]
    ) -> Response:
        """Run ``run`` once per Idempotency-Key; repeats replay the first result.

        ``run`` and the record of its result are one transaction (``run`` never awaits, so no
        other request's writes join it): a crash between the two would otherwise keep the
        effect without the record, and the client's retry would then conflict with it.
        """
        key = idempotency_key(request)
        if key is None:
            status, result = run()
            return JSONResponse(result, status)
        scope, fingerprint = f"{request.method} {request.url.path}", _fingerprint(body)
        recorded = service.store.find_idempotent(scope, key)
        if recorded is None:
            with service.store.atomic():
                status, result = run()
                service.store.record_idempotent(scope, key, fingerprint, status, result)
            return JSONResponse(result, status)
        if recorded[0] != fingerprint:
            raise Problem(
                409,
                "idempotency-key-reused",
                "Conflict",
                "Idempotency-Key was used with a different body",
            )
        return JSONResponse(recorded[2], recorded[1], headers={"Idempotent-Replayed": "true"})

    async def get_health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def create_session(request: Request) -> Response:
        body = await json_body(request, "CreateSessionRequest")
        fields = {
            "session_id": body["session_id"],
            "message_data": body.get("message_data", {}),
            "message_data_template": body.get("message_data_template", {}),
            "expiry_date": body.get("expiry_date"),
            "subject_id": body.get("subject_id"),
        }
        check_template(fields["message_data_template"], fields["message_data"])

        def run() -> tuple[int, Any]:
            return service.create_session(fields)

        return idempotent(request, body, run)

    async def list_sessions(request: Request) -> Response:
        status, subject_id = (
            request.query_params.get("status"),
            request.query_params.get("subject_id"),
        )
        if status is not None:
            check("SessionStatus", status, "query.status")
        if subject_id is not None:
            check("SubjectId", subject_id, "query.subject_id")
        page = service.store.list_sessions(
            status=status,
            subject_id=subject_id,
            limit=page_limit(request),
            cursor=page_cursor(request),
            max_bytes=session_page_bytes,
        )
        return JSONResponse(page)

    async def list_settled_messages(request: Request) -> Response:
        subject_id = request.query_params.get("subject_id")
        if subject_id is None:
            raise Problem(
                422,
                "validation-error",
                "Unprocessable Content",
                errors=[{"location": "query.subject_id", "path": "/", "message": "required"}],
            )
        check("SubjectId", subject_id, "query.subject_id")
        page = service.store.list_settled(
            subject_id,
            since=settled_since(request),
            cursor=page_cursor(request),
            limit=page_limit(request),
            max_bytes=settled_page_bytes,
        )
        return JSONResponse(page)

    async def get_session(request: Request) -> Response:
        (session_id,) = path_ids(request)
        return JSONResponse(service.store.get_session(session_id))

    async def reject_session(request: Request) -> Response:
        (session_id,) = path_ids(request)
        refuse_form(request)

        def run() -> tuple[int, Any]:
            return 200, service.reject_session(session_id)

        return idempotent(request, None, run)

    async def expire_sessions(request: Request) -> Response:
        refuse_form(request)

        def run() -> tuple[int, Any]:
            return 200, service.expire_sessions()

        return idempotent(request, None, run)

    async def list_messages(request: Request) -> Response:
        (session_id,) = path_ids(request)
        page = service.store.list_messages(
            session_id,
            limit=page_limit(request),
            cursor=page_cursor(request),
            max_bytes=message_page_bytes,
        )
        return JSONResponse(page)

    async def send_message(request: Request) -> Response:
        (session_id,) = path_ids(request)
        body = await json_body(request, "SendMessageRequest")
        response_schema = body.get("response_schema")
        if response_schema is not None:
            problem = schema_problem(response_schema)
            if problem is not None:
                raise Problem(
                    422, "validation-error", "Unprocessable Content", f"response_schema {problem}"
                )

        def run() -> tuple[int, Any]:
            return service.send_message(
                session_id,
                body["channel_id"],
                body["message"],
                body.get("subject_id"),
                body.get("message_id"),
                request.scope.get("trace_context"),
                response_schema,
            )

        return idempotent(request, body, run)

    async def get_message(request: Request) -> Response:
        session_id, message_id = path_ids(request)
        return JSONResponse(service.store.get_message(session_id, message_id))

    async def submit_response(request: Request) -> Response:
        session_id, message_id = path_ids(request)
        body = await json_body(request, "SubmitResponseRequest")

        def run() -> tuple[int, Any]:
            return 200, service.submit_response(
                session_id, message_id, body["response"], body.get("responded_by")
            )

        return idempotent(request, body, run)

    async def answer_from_inbox(request: Request) -> Response:
        """The inbox's answer, submitted as ``submitResponse`` does (checked against the
        message's ``response_schema``, if it has one)."""
        session_id, message_id = path_ids(request)
        body = await json_body(request, "SubmitResponseRequest")
        return JSONResponse(service.submit_response(session_id, message_id, body["response"]))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        problem = Problem(exc.status_code, title.lower().replace(" ", "-"), title, str(exc.detail))
        return problem_response(problem, request.scope.get("request_id", ""), exc.headers)

    routes = [
        Route("/health", endpoint(get_health, public=True), methods=["GET"]),
        # One route per path, so a 405 lists every method of the path in ``Allow``.
        Route(
            "/sessions",
            by_method(GET=endpoint(list_sessions), POST=endpoint(create_session)),
            methods=["GET", "POST"],
        ),
        Route("/sessions/expire", endpoint(expire_sessions), methods=["POST"]),
        Route("/messages/settled", endpoint(list_settled_messages), methods=["GET"]),
        Route("/sessions/{session_id}", endpoint(get_session), methods=["GET"]),
        Route("/sessions/{session_id}/reject", endpoint(reject_session), methods=["POST"]),
        Route(
            "/sessions/{session_id}/messages",
            by_method(GET=endpoint(list_messages), POST=endpoint(send_message)),
            methods=["GET", "POST"],
        ),
        Route(
            "/sessions/{session_id}/messages/{message_id}", endpoint(get_message), methods=["GET"]
        ),
        Route(
            "/sessions/{session_id}/messages/{message_id}/response",
            endpoint(submit_response),
            methods=["POST"],
        ),
        *inbox_routes(service.store, guard=endpoint, answer=answer_from_inbox, remote=inbox_remote),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.router.redirect_slashes = False
    app.add_middleware(BrowserGuardMiddleware, allowed_hosts=allowed_hosts)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(TracingMiddleware, tracing=tracing or ServerTracing())
    return app


def check_template(template: dict[str, Any], data: dict[str, Any]) -> None:
    """Validate ``message_data`` against the JSON Schema ``template``; both problems are
    422s."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(template)
    except SchemaError as exc:
        raise Problem(
            422,
            "validation-error",
            "Unprocessable Content",
            f"message_data_template is not a valid JSON Schema: {exc.message}",
        ) from exc
    try:
        errors = [
            {
                "location": "body",
                "path": "/message_data" + "".join(f"/{p}" for p in error.absolute_path),
                "message": error.message,
            }
            for error in Draft202012Validator(template).iter_errors(data)
        ]
    except Exception as exc:  # an unresolvable $ref or bad regex in a caller's schema is their 422
        raise Problem(
            422,
            "validation-error",
            "Unprocessable Content",
            f"message_data_template cannot be applied: {exc}",
        ) from exc
    if errors:
        raise Problem(
            422,
            "validation-error",
            "Unprocessable Content",
            "message_data does not match message_data_template",
            errors,
        )
