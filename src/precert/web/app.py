"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from precert import __version__
from precert.bootstrap import Precert
from precert.domain.documentation import MAX_ATTACHMENT_BYTES
from precert.web import problems
from precert.web.api import (
    analytics,
    appeals,
    authorizations,
    cds_hooks,
    claims,
    coverage,
    documentation,
    fhir_notifications,
    health,
    payers,
    scheduling,
    screenings,
    webhooks,
    work,
)
from precert.web.limits import BodyGuard, NulGuard
from precert.web.ui import routes as ui

DESCRIPTION = """
precert's API for EHRs, scheduling and billing systems.

Authenticate with an API key: `Authorization: Bearer pck_…` (`precert apikey create`).
Errors are RFC 9457 `application/problem+json`; field errors carry a JSON `pointer`.
"""


def create_app(precert: Precert) -> FastAPI:
    """Build the app around an already-wired ``Precert``."""
    app = FastAPI(title="precert", version=__version__, description=DESCRIPTION)
    app.state.precert = precert
    problems.install(app)
    app.include_router(health.router)
    app.include_router(authorizations.router)
    app.include_router(appeals.router)
    app.include_router(documentation.router)
    app.include_router(claims.router)
    app.include_router(coverage.router)
    app.include_router(cds_hooks.router)
    app.include_router(scheduling.router)
    app.include_router(screenings.router)
    app.include_router(webhooks.router)
    app.include_router(work.router)
    app.include_router(analytics.router)
    app.include_router(payers.router)
    app.include_router(fhir_notifications.router)
    app.include_router(ui.router)
    # Starlette runs the last added outermost: the size guard bounds what NulGuard reads.
    app.add_middleware(NulGuard)
    app.add_middleware(
        BodyGuard,
        max_bytes=precert.settings.max_body_bytes,
        form_prefixes=("/ui/",),
        upload_max_bytes=MAX_ATTACHMENT_BYTES,
    )
    return app
