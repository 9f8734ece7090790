"""ASGI guards that run before any body is parsed: size, content type and NUL characters."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from precert.services.screening import MAX_SCHEDULE_BYTES

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Upload routes with limits of their own: whole schedules for screening.
UPLOAD_ROUTES: Mapping[str, int] = {"/v1/screenings": MAX_SCHEDULE_BYTES}


class BodyGuard:
    """Refuse bodies over the limit (413) and non-JSON bodies on JSON routes (415).

    Counts the bytes as they stream, so a lying or missing Content-Length does not help.
    Routes under ``form_prefixes`` (the UI's HTML forms) accept form encodings; routes
    ending in ``upload_suffix`` take documents of any type up to ``upload_max_bytes``, and
    each path of ``upload_routes`` takes files of any type up to its own limit (the
    route checks the type).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        form_prefixes: tuple[str, ...] = (),
        upload_suffix: str = "/attachments",
        upload_max_bytes: int = 0,
        upload_routes: Mapping[str, int] = UPLOAD_ROUTES,
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.form_prefixes = form_prefixes
        self.upload_suffix = upload_suffix
        self.upload_max_bytes = upload_max_bytes
        self.upload_routes = upload_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path: str = scope["path"]
        route_limit = self.upload_routes.get(path.rstrip("/"))
        is_upload = route_limit is not None or (
            bool(self.upload_max_bytes) and path.endswith(self.upload_suffix)
        )
        limit = route_limit or (self.upload_max_bytes if is_upload else self.max_bytes)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(
                send,
                413,
                "Payload too large",
                f"body of {declared} bytes exceeds the limit of {limit} bytes",
            )
            return
        media_type = _media_type(headers)
        is_form_route = is_upload or any(path.startswith(p) for p in self.form_prefixes)
        has_body = declared not in (None, "0") or "transfer-encoding" in headers
        json_like = _is_json(media_type)
        fhir_x12 = media_type in ("application/edi-x12", "text/plain")
        if has_body and not is_form_route and not json_like and not fhir_x12:
            await _refuse(
                send,
                415,
                "Unsupported media type",
                f"send application/json (got {media_type or 'no content type'})",
            )
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await _refuse(
                send, 413, "Payload too large", f"body exceeds the limit of {limit} bytes"
            )


class _TooLarge(Exception):
    pass


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


_NUL = "\x00"


class NulGuard:
    """Refuse text holding U+0000 (400) before any route or store sees it.

    PostgreSQL cannot keep NUL in text or JSONB, and no field of prior authorization
    needs it, so it is refused for every route in one place: in the path, the query, a
    JSON body (the error points at the member) and a form body (it names the field).
    Bodies are only decoded when their raw bytes could hold a NUL, so clean requests pay
    one byte search.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _NUL in scope["path"]:
            await _refuse_nul(send, [{"parameter": "path", "in": "path", "detail": _NUL_TEXT}])
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            names = [
                name for name, value in parse_qsl(query.decode("latin-1")) if _NUL in name + value
            ]
            errors = [{"parameter": n, "in": "query", "detail": _NUL_TEXT} for n in names]
            await _refuse_nul(
                send, errors or [{"parameter": "query", "in": "query", "detail": _NUL_TEXT}]
            )
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        media_type = _media_type(_headers(scope))
        is_json = _is_json(media_type)
        is_form = media_type == "application/x-www-form-urlencoded"
        if not (is_json or is_form):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        errors = _json_nul_errors(body) if is_json else _form_nul_errors(body)
        if errors:
            await _refuse_nul(send, errors)
            return
        replay = iter(messages)

        async def replaying_receive() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replaying_receive, send)


_NUL_TEXT = "text must not contain the NUL character (U+0000)"


def _json_nul_errors(body: bytes) -> list[dict[str, str]]:
    if b"\\u0000" not in body and b"\x00" not in body:
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []  # not JSON at all: the route reports where it breaks
    return [{"pointer": pointer, "detail": _NUL_TEXT} for pointer in _nul_pointers(document, "")]


def _nul_pointers(value: Any, pointer: str) -> Iterator[str]:
    if isinstance(value, str):
        if _NUL in value:
            yield pointer
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_pointers(item, f"{pointer}/{index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            escaped = key.replace("~", "~0").replace("/", "~1")
            if _NUL in key:
                yield f"{pointer}/{escaped}"
            else:
                yield from _nul_pointers(item, f"{pointer}/{escaped}")


def _form_nul_errors(body: bytes) -> list[dict[str, str]]:
    if b"%00" not in body and b"\x00" not in body:
        return []
    fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    names = [name for name, value in fields if _NUL in name + value]
    if not names and _NUL.encode() in unquote_to_bytes(body):
        names = ["body"]
    return [{"parameter": name, "in": "form", "detail": _NUL_TEXT} for name in names]


async def _refuse_nul(send: Send, errors: list[dict[str, str]]) -> None:
    await _refuse(send, 400, "Forbidden character", _NUL_TEXT, errors=errors)


async def _refuse(
    send: Send, status: int, title: str, detail: str, *, errors: Sequence[dict[str, str]] = ()
) -> None:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = list(errors)
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
