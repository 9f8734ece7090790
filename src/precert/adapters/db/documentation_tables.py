"""Documentation answers and attachments of authorization requests (migration 0007)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from precert.adapters.db.tables import Document, UtcDateTime, metadata

documentation_answers = Table(
    "documentation_answers",
    metadata,
    Column("authorization_id", String(36), ForeignKey("authorizations.id"), primary_key=True),
    Column("item_id", String(100), primary_key=True),
    Column("organization_id", String(36), nullable=False),
    Column("questionnaire", String(300), nullable=False),
    Column("answers", Document, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(100), nullable=False),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(36), nullable=False),
    Column("authorization_id", String(36), ForeignKey("authorizations.id"), nullable=False),
    Column("item_id", String(100), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Column("uploaded_by", String(100), nullable=False),
    UniqueConstraint("authorization_id", "item_id", "sha256"),
    Index("ix_attachments_org_authorization", "organization_id", "authorization_id"),
)
