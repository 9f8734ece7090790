"""ASGI guards that run before any body is parsed: size limit and JSON content type."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
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
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        is_form_route = is_upload or any(path.startswith(p) for p in self.form_prefixes)
        has_body = declared not in (None, "0") or "transfer-encoding" in headers
        json_like = media_type == "application/json" or media_type.endswith("+json")
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


async def _refuse(send: Send, status: int, title: str, detail: str) -> None:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
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
