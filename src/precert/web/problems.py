"""RFC 9457 problem details: every error the API returns, in one shape, with JSON pointers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from precert.domain.errors import DomainError, IllegalTransition, InvalidInput, NotFound, Problem
from precert.ports import ConcurrentUpdate
from precert.services.access import Forbidden
from precert.services.authorizations import IdempotencyConflict
from precert.services.claims import ClaimRefused
from precert.services.readiness import NotReady

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: Sequence[dict[str, str]] = (),
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors:
        body["errors"] = list(errors)
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _pointer(location: Iterable[Any]) -> str:
    return Problem(tuple(location), "").pointer


def _validation_errors(exc: RequestValidationError) -> tuple[int, str, list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    status, title = 422, "Invalid request"
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        kind = error.get("type", "")
        message = str(error.get("msg", "invalid"))
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if kind == "json_invalid":
            status, title = 400, "Malformed JSON"
            ctx = error.get("ctx") or {}
            message = f"body is not valid JSON: {ctx.get('error', message)}"
            errors.append({"pointer": "", "detail": message})
            continue
        source = loc[0] if loc else "body"
        if source == "body":
            # Discriminated unions add the tag to the path; it is not part of the document.
            path = [p for p in loc[1:] if not (isinstance(p, str) and p in _ACTION_TAGS)]
            errors.append({"pointer": _pointer(path), "detail": message})
        else:
            errors.append(
                {
                    "parameter": ".".join(str(p) for p in loc[1:]),
                    "in": str(source),
                    "detail": message,
                }
            )
    return status, title, errors


_ACTION_TAGS = frozenset(
    {"ready", "reopen", "submit", "determination", "cancel", "appeal", "appeal-outcome"}
)


def install(app: FastAPI) -> None:
    """Register handlers so every error leaves as problem+json."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, title, errors = _validation_errors(exc)
        detail = "; ".join(
            f"{e.get('pointer', e.get('parameter', ''))}: {e['detail']}" for e in errors
        )
        return problem(status, title, detail, errors=errors)

    @app.exception_handler(InvalidInput)
    async def _rules(_: Request, exc: InvalidInput) -> JSONResponse:
        errors = [{"pointer": p.pointer, "detail": p.message} for p in exc.problems]
        return problem(422, "Invalid request", str(exc), errors=errors)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return problem(404, "Not found", str(exc))

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return problem(403, "Forbidden", str(exc))

    @app.exception_handler(IllegalTransition)
    async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return problem(
            409,
            "Illegal transition",
            str(exc),
            current_status=exc.current,
            allowed=list(exc.allowed),
        )

    @app.exception_handler(ConcurrentUpdate)
    async def _stale(_: Request, exc: ConcurrentUpdate) -> JSONResponse:
        return problem(409, "Concurrent update", str(exc))

    @app.exception_handler(IdempotencyConflict)
    async def _idempotency(_: Request, exc: IdempotencyConflict) -> JSONResponse:
        return problem(
            422,
            "Idempotency-Key reused",
            str(exc),
            errors=[{"parameter": "Idempotency-Key", "in": "header", "detail": str(exc)}],
        )

    @app.exception_handler(ClaimRefused)
    async def _claim(_: Request, exc: ClaimRefused) -> JSONResponse:
        errors = [
            {"pointer": f"/lines/{i}", "detail": c.reason}
            for i, c in enumerate(exc.checks)
            if not c.covered
        ]
        return problem(422, "Claim not covered", str(exc), errors=errors)

    @app.exception_handler(NotReady)
    async def _not_ready(_: Request, exc: NotReady) -> JSONResponse:
        return problem(
            409,
            "Not ready to submit",
            str(exc),
            blockers=[{"code": b.code.value, "message": b.message} for b in exc.blockers],
        )

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem(422, "Rule violated", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return problem(
            exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail), headers=headers
        )


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
}
