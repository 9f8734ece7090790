"""Payer connections (admins), electronic submission, cancellation at the payer, eligibility."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from precert.adapters.payers.registry import GatewayRegistry
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert
from precert.domain.access import Permission
from precert.domain.errors import NotFound
from precert.ports import PayerAuth, PayerConnection, PayerFormat, PayerUnavailable
from precert.services import eligibility as eligibility_service
from precert.services import submission as service
from precert.services.access import AccessContext
from precert.web.api.authorizations import AuthorizationResource, resource
from precert.web.deps import CurrentAccess, PrecertDep

router = APIRouter(tags=["payers"])


def gateways(request: Request) -> GatewayRegistry:
    """The app's gateway registry (one per app, created on first use)."""
    registry = getattr(request.app.state, "payer_gateways", None)
    if registry is None:
        registry = GatewayRegistry()
        request.app.state.payer_gateways = registry
    return registry


def payer_uow_factory(precert: Precert) -> service.UnitOfWorkFactory:
    """Units of work that also reach the payer store."""
    return lambda: SqlPayerUnitOfWork(precert.engine)


def notification_endpoint(precert: Precert) -> str:
    """Where payers deliver rest-hook notifications."""
    settings = precert.settings
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return f"{base.rstrip('/')}/fhir/notifications"


def submission_settings(request: Request, precert: PrecertDep) -> service.SubmissionSettings:
    """Gateways, retry policy and notification endpoint for this app."""
    settings = getattr(request.app.state, "submission_settings", None)
    if isinstance(settings, service.SubmissionSettings):
        return settings
    return service.SubmissionSettings(
        gateways=gateways(request).gateway, notification_endpoint=notification_endpoint(precert)
    )


SettingsDep = Annotated[service.SubmissionSettings, Depends(submission_settings)]


def payer_uow(precert: PrecertDep) -> Iterator[SqlPayerUnitOfWork]:
    """One payer-aware unit of work per request."""
    with SqlPayerUnitOfWork(precert.engine) as uow:
        yield uow


PayerUowDep = Annotated[SqlPayerUnitOfWork, Depends(payer_uow)]


# --- payer connections ---------------------------------------------------------------------


class AuthSettings(BaseModel):
    """How precert authenticates to the payer; the client secret is write-only."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["none", "oauth2-client-credentials"] = "none"
    token_url: HttpUrl | None = None
    client_id: str | None = Field(default=None, max_length=200)
    client_secret: str | None = Field(default=None, max_length=500)
    scope: str | None = Field(default=None, max_length=500)


class ConnectionSettings(BaseModel):
    """An organization's settings for one payer."""

    model_config = ConfigDict(extra="forbid")
    format: PayerFormat = PayerFormat.FHIR_PAS
    endpoint: HttpUrl = Field(description="FHIR base (…/fhir) or the clearinghouse X12 URL")
    auth: AuthSettings = AuthSettings()
    organization_identifier: str = Field(
        min_length=1, max_length=80, description="The submitter's identifier (NPI) for filters"
    )
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    max_attempts: int = Field(default=4, ge=1, le=10)


class ConnectionResource(BaseModel):
    """A stored connection as the API shows it (never the client secret)."""

    payer_id: str
    format: PayerFormat
    endpoint: str
    auth_kind: str
    token_url: str | None
    client_id: str | None
    organization_identifier: str
    timeout_seconds: float
    max_attempts: int
    created_at: datetime
    updated_at: datetime


def _connection_resource(connection: PayerConnection) -> ConnectionResource:
    return ConnectionResource(
        payer_id=connection.payer_id,
        format=connection.format,
        endpoint=connection.endpoint,
        auth_kind=connection.auth.kind,
        token_url=connection.auth.token_url,
        client_id=connection.auth.client_id,
        organization_identifier=connection.organization_identifier,
        timeout_seconds=connection.timeout_seconds,
        max_attempts=connection.max_attempts,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )


def _admin(access: AccessContext) -> None:
    access.require(Permission.ADMINISTER)


@router.get("/v1/payer-connections", response_model=list[ConnectionResource])
def list_connections(access: CurrentAccess, uow: PayerUowDep) -> list[ConnectionResource]:
    """The organization's payer connections (admins only)."""
    _admin(access)
    return [_connection_resource(c) for c in uow.payers.connections(access.organization_id)]


def save_connection(
    uow: SqlPayerUnitOfWork,
    access: AccessContext,
    payer_id: str,
    settings: ConnectionSettings,
    now: datetime,
) -> tuple[PayerConnection, bool]:
    """Create or replace the organization's connection to ``payer_id``; True when it is new.

    Shared by the API and the admin page so both apply the same rules: admins only, the
    payer must be in the directory, and a blank client secret keeps the stored one (an
    edit need not re-enter it). The caller commits.
    """
    _admin(access)
    if uow.directory.payer(payer_id) is None:
        raise NotFound(f"unknown payer {payer_id!r}")
    existing = uow.payers.connection(access.organization_id, payer_id)
    secret = settings.auth.client_secret or (existing.auth.client_secret if existing else None)
    connection = PayerConnection(
        id=existing.id if existing else str(uuid.uuid4()),
        organization_id=access.organization_id,
        payer_id=payer_id,
        format=settings.format,
        endpoint=str(settings.endpoint).rstrip("/"),
        auth=PayerAuth(
            kind=settings.auth.kind,
            token_url=str(settings.auth.token_url) if settings.auth.token_url else None,
            client_id=settings.auth.client_id,
            client_secret=secret,
            scope=settings.auth.scope,
        ),
        organization_identifier=settings.organization_identifier,
        timeout_seconds=settings.timeout_seconds,
        max_attempts=settings.max_attempts,
        created_at=existing.created_at if existing else now,
        updated_at=now,
    )
    uow.payers.save_connection(connection)
    return connection, existing is None


@router.put("/v1/payer-connections/{payer_id}", response_model=ConnectionResource)
def put_connection(
    payer_id: str,
    body: ConnectionSettings,
    access: CurrentAccess,
    uow: PayerUowDep,
    precert: PrecertDep,
    response: Response,
) -> ConnectionResource:
    """Create or replace the connection to ``payer_id`` (admins only)."""
    connection, created = save_connection(uow, access, payer_id, body, precert.clock.now())
    uow.commit()
    response.status_code = 201 if created else 200
    return _connection_resource(connection)


@router.delete("/v1/payer-connections/{payer_id}", status_code=204)
def delete_connection(payer_id: str, access: CurrentAccess, uow: PayerUowDep) -> Response:
    """Remove the connection to ``payer_id`` (admins only)."""
    _admin(access)
    if not uow.payers.delete_connection(access.organization_id, payer_id):
        raise NotFound(f"no connection to payer {payer_id!r}")
    uow.commit()
    return Response(status_code=204)


# --- submission, cancellation, eligibility -------------------------------------------------


@contextmanager
def _payer_unavailable_is_503() -> Iterator[None]:
    """A payer that never answered is a 503 for the caller, who may simply try again later."""
    try:
        yield
    except PayerUnavailable as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "30"}) from exc


@router.post("/v1/authorizations/{authorization_id}/submit", response_model=AuthorizationResource)
def submit(
    authorization_id: str, access: CurrentAccess, precert: PrecertDep, settings: SettingsDep
) -> AuthorizationResource:
    """Submit a READY request to its payer electronically and record the payer's answer."""
    with _payer_unavailable_is_503():
        request = service.submit_electronically(
            payer_uow_factory(precert), access, authorization_id, settings, precert.clock
        )
    return resource(request)


class CancelAtPayer(BaseModel):
    """Why the request is withdrawn."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


@router.post(
    "/v1/authorizations/{authorization_id}/cancel-at-payer", response_model=AuthorizationResource
)
def cancel_at_payer(
    authorization_id: str,
    body: CancelAtPayer,
    access: CurrentAccess,
    precert: PrecertDep,
    settings: SettingsDep,
) -> AuthorizationResource:
    """Withdraw the request at the payer (PAS cancel), then cancel it in precert."""
    with _payer_unavailable_is_503():
        request = service.cancel_at_payer(
            payer_uow_factory(precert),
            access,
            authorization_id,
            body.reason,
            settings,
            precert.clock,
        )
    return resource(request)


class ServiceEligibilityResource(BaseModel):
    """Coverage facts for one requested service."""

    service: str
    covered: bool | None
    auth_required: bool | None
    benefits: list[tuple[str, str]]


class EligibilityResource(BaseModel):
    """The payer's eligibility answer, as stored on the request."""

    active: bool | None
    plan_start: date | None
    plan_end: date | None
    source: str
    services: list[ServiceEligibilityResource]


@router.post(
    "/v1/authorizations/{authorization_id}/eligibility", response_model=EligibilityResource
)
def eligibility(
    authorization_id: str, access: CurrentAccess, precert: PrecertDep, request: Request
) -> EligibilityResource:
    """Check the member's coverage with the payer; the answer is recorded on the request."""
    registry = gateways(request)
    with _payer_unavailable_is_503():
        result = eligibility_service.verify_eligibility(
            payer_uow_factory(precert), access, authorization_id, registry.gateway, precert.clock
        )
    return EligibilityResource(
        active=result.active,
        plan_start=result.plan_start,
        plan_end=result.plan_end,
        source=result.source,
        services=[
            ServiceEligibilityResource(
                service=s.service,
                covered=s.covered,
                auth_required=s.auth_required,
                benefits=list(s.benefits),
            )
            for s in result.services
        ],
    )
