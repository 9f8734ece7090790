"""Payer connections (admins), electronic submission, cancellation at the payer, eligibility."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from precert.adapters.payers.registry import GatewayRegistry
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert
from precert.ports import PayerConnection, PayerFormat, PayerUnavailable
from precert.services import eligibility as eligibility_service
from precert.services import payer_connections as connections
from precert.services import submission as service
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


@router.get("/v1/payer-connections", response_model=list[ConnectionResource])
def list_connections(
    access: CurrentAccess, uow: PayerUowDep, precert: PrecertDep
) -> list[ConnectionResource]:
    """The organization's payer connections (admins only)."""
    stored = connections.list_connections(uow, access, precert.clock.now(), view="api")
    uow.commit()
    return [_connection_resource(c) for c in stored]


@router.put("/v1/payer-connections/{payer_id}", response_model=ConnectionResource)
def put_connection(
    payer_id: str,
    body: connections.ConnectionSettings,
    access: CurrentAccess,
    uow: PayerUowDep,
    precert: PrecertDep,
    response: Response,
) -> ConnectionResource:
    """Create or replace the connection to ``payer_id`` (admins only)."""
    connection, created = connections.save_connection(
        uow, access, payer_id, body, precert.clock.now()
    )
    uow.commit()
    response.status_code = 201 if created else 200
    return _connection_resource(connection)


@router.delete("/v1/payer-connections/{payer_id}", status_code=204)
def delete_connection(
    payer_id: str, access: CurrentAccess, uow: PayerUowDep, precert: PrecertDep
) -> Response:
    """Remove the connection to ``payer_id`` (admins only)."""
    connections.remove_connection(uow, access, payer_id, precert.clock.now())
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
