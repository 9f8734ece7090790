"""FastAPI dependencies: the wired app, a unit of work per request, and the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from precert.adapters.db.unit_of_work import SqlUnitOfWork
from precert.bootstrap import Precert
from precert.services.access import AccessContext
from precert.services.tenancy import authenticate

_bearer = HTTPBearer(auto_error=False, description="An API key: `pck_<id>_<secret>`")


def get_precert(request: Request) -> Precert:
    """The application wiring stored on the FastAPI app."""
    precert: Precert = request.app.state.precert
    return precert


PrecertDep = Annotated[Precert, Depends(get_precert)]


def get_uow(precert: PrecertDep) -> Iterator[SqlUnitOfWork]:
    """One unit of work (one transaction) per request."""
    with precert.uow() as uow:
        yield uow


UnitOfWorkDep = Annotated[SqlUnitOfWork, Depends(get_uow)]


def channel_of(request: Request) -> str:
    """``METHOD /route/{template}`` for the audit trail (the template, never the PHI in a URL)."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return f"{request.method} {path}"


def get_access(
    request: Request,
    uow: UnitOfWorkDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessContext:
    """The authenticated caller; 401 with a Bearer challenge otherwise."""
    principal = authenticate(uow, credentials.credentials) if credentials else None
    if principal is None:
        reason = "missing" if credentials is None else "unknown, malformed or revoked"
        raise HTTPException(
            status_code=401,
            detail=f"API key {reason}: send 'Authorization: Bearer pck_…'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return AccessContext(principal.organization_id, principal.actor, channel_of(request))


CurrentAccess = Annotated[AccessContext, Depends(get_access)]
