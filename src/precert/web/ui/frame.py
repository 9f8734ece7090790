"""The frame every UI page shares: templates, error pages, the signed-in viewer, CSRF checks,
per-app state (signer, rate limiters) and page rendering.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from precert.domain.access import Permission, may
from precert.domain.errors import NotFound
from precert.domain.tenancy import Organization
from precert.domain.users import User
from precert.services import users as accounts
from precert.services.access import AccessContext, Forbidden
from precert.web.deps import PrecertDep, UnitOfWorkDep, channel_of
from precert.web.ui import present
from precert.web.ui.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    FailureLimiter,
    Signer,
    load_secret_key,
)

HERE = Path(__file__).parent
STATIC = HERE / "static"
#: Wrong or expired patient links per client IP before the status page refuses for a while.
PATIENT_LINK_FAILURES = 10
PATIENT_LINK_WINDOW_SECONDS = 15 * 60
#: Failed sign-ins per client IP before sign-in refuses for a while.
SIGN_IN_FAILURES = 10
SIGN_IN_WINDOW_SECONDS = 15 * 60

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(
    status_label=present.status_label,
    status_tones=present.STATUS_TONES,
    category_labels=present.CATEGORY_LABELS,
    decision_labels=present.DECISION_LABELS,
    appeal_labels=present.APPEAL_LABELS,
    money=present.money,
    day=present.day,
    csrf_field=CSRF_FIELD,
    csrf_header=CSRF_HEADER,
)


# --- errors the pages turn into responses -----------------------------------------------


class SignInRequired(Exception):
    """No valid session: send the browser to the sign-in page."""


class CsrfRefused(Exception):
    """A form post without the right CSRF token (or from another origin)."""


class UiRoute(APIRoute):
    """Renders UI errors as pages (the app-wide handlers answer in problem+json for the API)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, wrapped so domain errors become pages with security headers."""
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except SignInRequired:
                response = _to_sign_in(request)
            except CsrfRefused:
                response = _error_page(
                    request,
                    403,
                    "This form has expired",
                    "The page was open too long or came from elsewhere. Go back, reload the "
                    "page and try again.",
                )
            except Forbidden as exc:
                response = _error_page(request, 403, "Not allowed for your role", str(exc))
            except NotFound:
                response = _error_page(
                    request,
                    404,
                    "Not found",
                    "There is no such page or request in your organization.",
                )
            for name, value in _SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return handler


def _to_sign_in(request: Request) -> Response:
    target = "/ui/sign-in?next=" + quote(request.url.path, safe="/")
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": title, "detail": detail, "viewer": None},
        status_code=status,
    )


# --- per-app state: the signer and the limiters ------------------------------------------


@dataclass
class UiState:
    """What the UI keeps per application: its signer and its in-memory rate limiters."""

    signer: Signer
    patient_links: FailureLimiter
    sign_ins: FailureLimiter


_state_lock = threading.Lock()


def ui_state(request: Request, precert: PrecertDep) -> UiState:
    """The app's UI state, made on first use (the app factory knows nothing of the UI)."""
    state: UiState | None = getattr(request.app.state, "precert_ui", None)
    if state is None:
        with _state_lock:
            state = getattr(request.app.state, "precert_ui", None)
            if state is None:
                state = UiState(
                    signer=Signer(load_secret_key(precert.settings)),
                    patient_links=FailureLimiter(
                        PATIENT_LINK_FAILURES, PATIENT_LINK_WINDOW_SECONDS
                    ),
                    sign_ins=FailureLimiter(SIGN_IN_FAILURES, SIGN_IN_WINDOW_SECONDS),
                )
                request.app.state.precert_ui = state
    return state


UiStateDep = Annotated[UiState, Depends(ui_state)]


async def read_form(request: Request) -> FormData:
    """The posted form (parsed before the sync route runs in the thread pool)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def fields_of(form: FormData) -> dict[str, str]:
    """The text fields of a posted form (file uploads are not accepted here)."""
    return {k: v for k, v in form.items() if isinstance(v, str)}


def client_ip(request: Request) -> str:
    """The peer address the limiters count against (behind a proxy: run uvicorn with
    ``--proxy-headers`` so this is the client's, not the proxy's)."""
    return request.client.host if request.client else "unknown"


def same_origin(request: Request) -> bool:
    """Whether a post came from our own pages (an absent Origin header is allowed)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


# --- who is looking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """The signed-in user on this request, with their organization and CSRF token."""

    user: User
    organization: Organization
    csrf: str
    channel: str

    @property
    def context(self) -> AccessContext:
        """The access context the services check and audit under."""
        return AccessContext(self.organization.id, self.user.actor, self.channel)

    @property
    def tz(self) -> ZoneInfo:
        """The organization's timezone, for every time shown."""
        return ZoneInfo(self.organization.timezone)

    def may(self, permission: str) -> bool:
        """Whether the user's role carries the permission (for showing or hiding controls)."""
        return may(self.user.role, Permission(permission))


def current_viewer(
    request: Request, uow: UnitOfWorkDep, precert: PrecertDep, state: UiStateDep
) -> Viewer:
    """The signed-in viewer; SignInRequired otherwise."""
    token = state.signer.unsign("session", request.cookies.get(SESSION_COOKIE))
    found = accounts.session_user(uow, token, precert.clock) if token else None
    if token is None or found is None:
        raise SignInRequired
    session, user = found
    return Viewer(
        user=user,
        organization=accounts.organization(uow, session.organization_id),
        csrf=state.signer.csrf_token(session.token_hash),
        channel=channel_of(request),
    )


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def posting_viewer(request: Request, viewer: ViewerDep, form: FormDep) -> Viewer:
    """The viewer of a form post whose CSRF token (field or HTMX header) is right."""
    presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not same_origin(request) or presented != viewer.csrf:
        raise CsrfRefused
    return viewer


PostingViewerDep = Annotated[Viewer, Depends(posting_viewer)]


def page(
    request: Request,
    viewer: Viewer | None,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page with what every page's frame needs."""
    return templates.TemplateResponse(
        request,
        template,
        {"viewer": viewer, **context},
        status_code=status_code,
    )
