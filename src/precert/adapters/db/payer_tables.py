"""Tables of the payer integration: connections, submission attempts, subscriptions.

Mirrors migration 0004; registered on precert's shared ``metadata``.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from precert.adapters.db.tables import Document, RowId, UtcDateTime, metadata

payer_connections = Table(
    "payer_connections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(36), ForeignKey("organizations.id"), nullable=False),
    Column("payer_id", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("endpoint", String(500), nullable=False),
    # kind, token_url, client_id, client_secret, scope: the secret is never returned by the API.
    Column("auth", Document, nullable=False),
    Column("organization_identifier", String(80), nullable=False),
    Column("timeout_seconds", Float, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("organization_id", "payer_id"),
)

submission_attempts = Table(
    "submission_attempts",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("organization_id", String(36), nullable=False),
    Column("authorization_id", String(36), ForeignKey("authorizations.id"), nullable=False),
    Column("connection_id", String(36), nullable=False),
    Column("idempotency_key", String(80), nullable=False),
    Column("operation", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("http_status", Integer),
    Column("payer_reference", String(80)),
    Column("detail", Text, nullable=False),
    Index("ix_submission_attempts_org_authorization", "organization_id", "authorization_id"),
    Index("ix_submission_attempts_org_reference", "organization_id", "payer_reference"),
)

payer_subscriptions = Table(
    "payer_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(36), nullable=False),
    Column("connection_id", String(36), ForeignKey("payer_connections.id"), nullable=False),
    Column("reference", String(500), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_notification_at", UtcDateTime),
    Column("notifications", Integer, nullable=False),
    UniqueConstraint("connection_id"),
)

__all__ = ["payer_connections", "payer_subscriptions", "submission_attempts"]
