"""An organization's connections to its payers: list, save and remove, for admins only.

The API (``/v1/payer-connections``) and the admin page both call these, so the rules
(the payer must be in the directory, a blank client secret keeps the stored one, the
endpoint is kept without a trailing slash) and the audit trail are the same for both.
A connection holds no patient data, but who pointed submissions at which endpoint is
exactly what a security review asks, so every read and change is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationInfo, field_validator

from precert.domain.access import Permission
from precert.domain.errors import NotFound
from precert.ports import PayerAuth, PayerConnection, PayerFormat, PayerUnitOfWork
from precert.services.access import AccessContext, audit

#: What the audit trail calls a payer connection; its subject id is the payer id.
CONNECTION_SUBJECT = "payer-connection"


class AuthSettings(BaseModel):
    """How precert authenticates to the payer; the client secret is write-only."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["none", "oauth2-client-credentials"] = "none"
    token_url: HttpUrl | None = Field(default=None, validate_default=True)
    client_id: str | None = Field(default=None, max_length=200, validate_default=True)
    client_secret: str | None = Field(default=None, max_length=500)
    scope: str | None = Field(default=None, max_length=500)

    @field_validator("token_url", "client_id")
    @classmethod
    def _oauth_needs_it(cls, value: object, info: ValidationInfo) -> object:
        # Without them the first submission would fail at the payer; say so at setup.
        if value is None and info.data.get("kind") == "oauth2-client-credentials":
            raise ValueError("required for OAuth 2.0 client credentials")
        return value


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


def list_connections(
    uow: PayerUnitOfWork, access: AccessContext, now: datetime, *, view: str
) -> Sequence[PayerConnection]:
    """The organization's connections, the read audited under ``view`` (the caller commits)."""
    access.require(Permission.ADMINISTER)
    stored = uow.payers.connections(access.organization_id)
    audit(uow, access, now, "read", CONNECTION_SUBJECT, [c.payer_id for c in stored], view=view)
    return stored


def save_connection(
    uow: PayerUnitOfWork,
    access: AccessContext,
    payer_id: str,
    settings: ConnectionSettings,
    now: datetime,
) -> tuple[PayerConnection, bool]:
    """Create or replace the connection to ``payer_id``; True when it is new (caller commits)."""
    access.require(Permission.ADMINISTER)
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
    _audit_change(uow, access, now, connection, "replaced" if existing else "created")
    return connection, existing is None


def remove_connection(
    uow: PayerUnitOfWork, access: AccessContext, payer_id: str, now: datetime
) -> None:
    """Remove the connection to ``payer_id``; NotFound when there is none (caller commits)."""
    access.require(Permission.ADMINISTER)
    connection = uow.payers.connection(access.organization_id, payer_id)
    if connection is None or not uow.payers.delete_connection(access.organization_id, payer_id):
        raise NotFound(f"no connection to payer {payer_id!r}")
    _audit_change(uow, access, now, connection, "removed")


def _audit_change(
    uow: PayerUnitOfWork,
    access: AccessContext,
    now: datetime,
    connection: PayerConnection,
    event: str,
) -> None:
    subjects = [connection.payer_id]
    audit(
        uow,
        access,
        now,
        "write",
        CONNECTION_SUBJECT,
        subjects,
        event=event,
        connection=connection.id,
    )
